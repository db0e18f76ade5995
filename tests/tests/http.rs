//! `wasi:http` with outgoing HTTP not granted: a component that imports
//! `wasi:http/types` and `wasi:http/outgoing-handler` builds and runs, and
//! calling them gives the errors the interfaces define, never a trap.
//!
//! The component is written by hand (a guest program would need the `wasi`
//! crate): its core module builds a request, checks each answer and exits
//! through `wasi:cli/exit#exit-with-code` with the number of the first
//! check that failed, or returns `ok` from `wasi:cli/run#run` (status 0).

use smelt_tests::smelt;

/// The checks of [`COMPONENT`], by the exit status their failure gives.
const CHECKS: &[&str] = &[
    "",
    "fields.append of a valid header is ok",
    "fields.append of `bad name` is header-error.invalid-syntax",
    "fields.get is case-insensitive and returns the value appended",
    "fields.append to outgoing-request.headers is header-error.immutable",
    "set-method refuses a method that is not a token and takes `post`",
    "outgoing-request.body succeeds once, then is an error",
    "outgoing-body.write gives a stream; outgoing-body.finish is ok",
    "request-options.set-connect-timeout is ok",
    "outgoing-handler.handle returns an error",
    "outgoing-handler.handle's error is error-code.HTTP-request-denied",
];

/// The test component (WIT: `wasm-tools component wit` on it).
const COMPONENT: &str = r##"(component $root
  (import "wasi:io/streams@0.2.0" (instance $streams
    (export "output-stream" (type (sub resource)))))
  (alias export $streams "output-stream" (type $output-stream))

  (import "wasi:http/types@0.2.0" (instance $types
    (alias outer $root $output-stream (type $os))
    (export "output-stream" (type $output-stream (eq $os)))
    (export "fields" (type $fields (sub resource)))
    (export "outgoing-request" (type $request (sub resource)))
    (export "outgoing-body" (type $body (sub resource)))
    (export "request-options" (type $options (sub resource)))
    (export "future-incoming-response" (type (sub resource)))
    (type $method' (variant
      (case "get") (case "head") (case "post") (case "put") (case "delete")
      (case "connect") (case "options") (case "trace") (case "patch")
      (case "other" string)))
    (export "method" (type $method (eq $method')))
    (type $header-error' (variant
      (case "invalid-syntax") (case "forbidden") (case "immutable")))
    (export "header-error" (type $header-error (eq $header-error')))
    (type $dns-error-payload' (record
      (field "rcode" (option string)) (field "info-code" (option u16))))
    (export "DNS-error-payload" (type $dns-error-payload (eq $dns-error-payload')))
    (type $tls-alert-received-payload' (record
      (field "alert-id" (option u8)) (field "alert-message" (option string))))
    (export "TLS-alert-received-payload"
      (type $tls-alert-received-payload (eq $tls-alert-received-payload')))
    (type $field-size-payload' (record
      (field "field-name" (option string)) (field "field-size" (option u32))))
    (export "field-size-payload" (type $field-size-payload (eq $field-size-payload')))
    (type $error-code' (variant
      (case "DNS-timeout")
      (case "DNS-error" $dns-error-payload)
      (case "destination-not-found")
      (case "destination-unavailable")
      (case "destination-IP-prohibited")
      (case "destination-IP-unroutable")
      (case "connection-refused")
      (case "connection-terminated")
      (case "connection-timeout")
      (case "connection-read-timeout")
      (case "connection-write-timeout")
      (case "connection-limit-reached")
      (case "TLS-protocol-error")
      (case "TLS-certificate-error")
      (case "TLS-alert-received" $tls-alert-received-payload)
      (case "HTTP-request-denied")
      (case "HTTP-request-length-required")
      (case "HTTP-request-body-size" (option u64))
      (case "HTTP-request-method-invalid")
      (case "HTTP-request-URI-invalid")
      (case "HTTP-request-URI-too-long")
      (case "HTTP-request-header-section-size" (option u32))
      (case "HTTP-request-header-size" (option $field-size-payload))
      (case "HTTP-request-trailer-section-size" (option u32))
      (case "HTTP-request-trailer-size" $field-size-payload)
      (case "HTTP-response-incomplete")
      (case "HTTP-response-header-section-size" (option u32))
      (case "HTTP-response-header-size" $field-size-payload)
      (case "HTTP-response-body-size" (option u64))
      (case "HTTP-response-trailer-section-size" (option u32))
      (case "HTTP-response-trailer-size" $field-size-payload)
      (case "HTTP-response-transfer-coding" (option string))
      (case "HTTP-response-content-coding" (option string))
      (case "HTTP-response-timeout")
      (case "HTTP-upgrade-failed")
      (case "HTTP-protocol-error")
      (case "loop-detected")
      (case "configuration-error")
      (case "internal-error" (option string))))
    (export "error-code" (type $error-code (eq $error-code')))
    (export "[constructor]fields" (func (result (own $fields))))
    (export "[method]fields.append" (func
      (param "self" (borrow $fields)) (param "name" string) (param "value" (list u8))
      (result (result (error $header-error)))))
    (export "[method]fields.get" (func
      (param "self" (borrow $fields)) (param "name" string)
      (result (list (list u8)))))
    (export "[constructor]outgoing-request" (func
      (param "headers" (own $fields)) (result (own $request))))
    (export "[method]outgoing-request.headers" (func
      (param "self" (borrow $request)) (result (own $fields))))
    (export "[method]outgoing-request.set-method" (func
      (param "self" (borrow $request)) (param "method" $method) (result (result))))
    (export "[method]outgoing-request.body" (func
      (param "self" (borrow $request)) (result (result (own $body)))))
    (export "[method]outgoing-body.write" (func
      (param "self" (borrow $body)) (result (result (own $output-stream)))))
    (export "[static]outgoing-body.finish" (func
      (param "this" (own $body)) (param "trailers" (option (own $fields)))
      (result (result (error $error-code)))))
    (export "[constructor]request-options" (func (result (own $options))))
    (export "[method]request-options.set-connect-timeout" (func
      (param "self" (borrow $options)) (param "duration" (option u64)) (result (result))))))
  (alias export $types "fields" (type $fields))
  (alias export $types "outgoing-request" (type $request))
  (alias export $types "outgoing-body" (type $body))
  (alias export $types "request-options" (type $options))
  (alias export $types "future-incoming-response" (type $future-incoming-response))
  (alias export $types "error-code" (type $error-code))

  (import "wasi:http/outgoing-handler@0.2.0" (instance $handler
    (alias outer $root $request (type $request'))
    (export "outgoing-request" (type $request (eq $request')))
    (alias outer $root $options (type $options'))
    (export "request-options" (type $options (eq $options')))
    (alias outer $root $future-incoming-response (type $future-incoming-response'))
    (export "future-incoming-response"
      (type $future-incoming-response (eq $future-incoming-response')))
    (alias outer $root $error-code (type $error-code'))
    (export "error-code" (type $error-code (eq $error-code')))
    (export "handle" (func
      (param "request" (own $request)) (param "options" (option (own $options)))
      (result (result (own $future-incoming-response) (error $error-code)))))))

  (import "wasi:cli/exit@0.2.0" (instance $exit
    (export "exit-with-code" (func (param "status-code" u8)))))

  ;; Memory and `cabi_realloc` (a bump allocator), instantiated first so
  ;; that the lowered imports of the main module can use them.
  (core module $Memory
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 4096))
    (func (export "cabi_realloc")
      (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32)
      (result i32)
      (local $ptr i32)
      (local.set $ptr
        (i32.and
          (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $ptr) (local.get $new_size)))
      (if (i32.gt_u (global.get $next) (i32.const 65536)) (then unreachable))
      (local.get $ptr)))
  (core instance $memory (instantiate $Memory))
  (alias core export $memory "memory" (core memory $mem))
  (alias core export $memory "cabi_realloc" (core func $realloc))

  (core func $fields-new (canon lower (func $types "[constructor]fields")))
  (core func $fields-append
    (canon lower (func $types "[method]fields.append") (memory $mem) (realloc $realloc)))
  (core func $fields-get
    (canon lower (func $types "[method]fields.get") (memory $mem) (realloc $realloc)))
  (core func $request-new (canon lower (func $types "[constructor]outgoing-request")))
  (core func $request-headers
    (canon lower (func $types "[method]outgoing-request.headers")))
  (core func $request-set-method
    (canon lower (func $types "[method]outgoing-request.set-method") (memory $mem) (realloc $realloc)))
  (core func $request-body
    (canon lower (func $types "[method]outgoing-request.body") (memory $mem) (realloc $realloc)))
  (core func $body-write
    (canon lower (func $types "[method]outgoing-body.write") (memory $mem) (realloc $realloc)))
  (core func $body-finish
    (canon lower (func $types "[static]outgoing-body.finish") (memory $mem) (realloc $realloc)))
  (core func $options-new (canon lower (func $types "[constructor]request-options")))
  (core func $options-set-connect-timeout
    (canon lower (func $types "[method]request-options.set-connect-timeout")))
  (core func $fields-drop (canon resource.drop $fields))
  (core func $output-stream-drop (canon resource.drop $output-stream))
  (core func $handle (canon lower (func $handler "handle") (memory $mem) (realloc $realloc)))
  (core func $exit-with-code (canon lower (func $exit "exit-with-code")))

  (core module $Main
    (import "env" "memory" (memory 1))
    (import "types" "fields-new" (func $fields-new (result i32)))
    (import "types" "fields-append" (func $fields-append (param i32 i32 i32 i32 i32 i32)))
    (import "types" "fields-get" (func $fields-get (param i32 i32 i32 i32)))
    (import "types" "request-new" (func $request-new (param i32) (result i32)))
    (import "types" "request-headers" (func $request-headers (param i32) (result i32)))
    (import "types" "request-set-method"
      (func $request-set-method (param i32 i32 i32 i32) (result i32)))
    (import "types" "request-body" (func $request-body (param i32 i32)))
    (import "types" "body-write" (func $body-write (param i32 i32)))
    (import "types" "body-finish" (func $body-finish (param i32 i32 i32 i32)))
    (import "types" "options-new" (func $options-new (result i32)))
    (import "types" "options-set-connect-timeout"
      (func $options-set-connect-timeout (param i32 i32 i64) (result i32)))
    (import "types" "fields-drop" (func $fields-drop (param i32)))
    (import "types" "output-stream-drop" (func $output-stream-drop (param i32)))
    (import "handler" "handle" (func $handle (param i32 i32 i32 i32)))
    (import "exit" "exit-with-code" (func $exit-with-code (param i32)))

    (data (i32.const 16) "content-type")
    (data (i32.const 32) "text/plain")
    (data (i32.const 48) "bad name")
    (data (i32.const 64) "BAD METHOD")
    (data (i32.const 80) "Content-Type")

    (func $fail (param $step i32)
      (call $exit-with-code (local.get $step))
      unreachable)

    ;; Exits with status `step` unless `ok`.
    (func $check (param $ok i32) (param $step i32)
      (if (i32.eqz (local.get $ok)) (then (call $fail (local.get $step)))))

    ;; Return values of the imports go to the return area at 1024
    ;; (aligned to 8, as `error-code` needs).
    (func (export "run") (result i32)
      (local $fields i32) (local $request i32) (local $headers i32)
      (local $body i32) (local $stream i32) (local $options i32)
      (local $list i32)

      ;; 1: a new fields takes a valid header.
      (local.set $fields (call $fields-new))
      (call $fields-append (local.get $fields)
        (i32.const 16) (i32.const 12) (i32.const 32) (i32.const 10) (i32.const 1024))
      (call $check (i32.eqz (i32.load8_u (i32.const 1024))) (i32.const 1))

      ;; 2: a name with a space is `header-error.invalid-syntax` (0).
      (call $fields-append (local.get $fields)
        (i32.const 48) (i32.const 8) (i32.const 32) (i32.const 10) (i32.const 1024))
      (call $check
        (i32.and
          (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 1))
          (i32.eq (i32.load8_u offset=1 (i32.const 1024)) (i32.const 0)))
        (i32.const 2))

      ;; 3: `get` compares names case-insensitively: one value, "text/plain".
      (call $fields-get (local.get $fields) (i32.const 80) (i32.const 12) (i32.const 1024))
      (call $check (i32.eq (i32.load offset=4 (i32.const 1024)) (i32.const 1)) (i32.const 3))
      (local.set $list (i32.load (i32.const 1024)))
      (call $check (i32.eq (i32.load offset=4 (local.get $list)) (i32.const 10)) (i32.const 3))
      (call $check
        (i32.eq (i32.load8_u (i32.load (local.get $list))) (i32.const 0x74))
        (i32.const 3))

      ;; 4: the headers of a request are immutable (`header-error.immutable`, 2).
      (local.set $request (call $request-new (local.get $fields)))
      (local.set $headers (call $request-headers (local.get $request)))
      (call $fields-append (local.get $headers)
        (i32.const 16) (i32.const 12) (i32.const 32) (i32.const 10) (i32.const 1024))
      (call $check
        (i32.and
          (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 1))
          (i32.eq (i32.load8_u offset=1 (i32.const 1024)) (i32.const 2)))
        (i32.const 4))
      (call $fields-drop (local.get $headers))

      ;; 5: `method.other` that is not a token is refused; `post` is not.
      (call $check
        (i32.eq
          (call $request-set-method (local.get $request) (i32.const 9) (i32.const 64) (i32.const 10))
          (i32.const 1))
        (i32.const 5))
      (call $check
        (i32.eqz
          (call $request-set-method (local.get $request) (i32.const 2) (i32.const 0) (i32.const 0)))
        (i32.const 5))

      ;; 6: the body, once.
      (call $request-body (local.get $request) (i32.const 1024))
      (call $check (i32.eqz (i32.load8_u (i32.const 1024))) (i32.const 6))
      (local.set $body (i32.load offset=4 (i32.const 1024)))
      (call $request-body (local.get $request) (i32.const 1024))
      (call $check (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 1)) (i32.const 6))

      ;; 7: the body's stream, then `finish`.
      (call $body-write (local.get $body) (i32.const 1024))
      (call $check (i32.eqz (i32.load8_u (i32.const 1024))) (i32.const 7))
      (local.set $stream (i32.load offset=4 (i32.const 1024)))
      (call $output-stream-drop (local.get $stream))
      (call $body-finish (local.get $body) (i32.const 0) (i32.const 0) (i32.const 1024))
      (call $check (i32.eqz (i32.load8_u (i32.const 1024))) (i32.const 7))

      ;; 8: request options keep their values.
      (local.set $options (call $options-new))
      (call $check
        (i32.eqz
          (call $options-set-connect-timeout
            (local.get $options) (i32.const 1) (i64.const 5000000000)))
        (i32.const 8))

      ;; 9: `handle` is `error-code.HTTP-request-denied` (15), at offset 8.
      (call $handle (local.get $request) (i32.const 1) (local.get $options) (i32.const 1024))
      (call $check (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 1)) (i32.const 9))
      (call $check (i32.eq (i32.load8_u offset=8 (i32.const 1024)) (i32.const 15)) (i32.const 10))

      (i32.const 0)))

  (core instance $main (instantiate $Main
    (with "env" (instance (export "memory" (memory $mem))))
    (with "types" (instance
      (export "fields-new" (func $fields-new))
      (export "fields-append" (func $fields-append))
      (export "fields-get" (func $fields-get))
      (export "request-new" (func $request-new))
      (export "request-headers" (func $request-headers))
      (export "request-set-method" (func $request-set-method))
      (export "request-body" (func $request-body))
      (export "body-write" (func $body-write))
      (export "body-finish" (func $body-finish))
      (export "options-new" (func $options-new))
      (export "options-set-connect-timeout" (func $options-set-connect-timeout))
      (export "fields-drop" (func $fields-drop))
      (export "output-stream-drop" (func $output-stream-drop))))
    (with "handler" (instance (export "handle" (func $handle))))
    (with "exit" (instance (export "exit-with-code" (func $exit-with-code))))))

  (func $run (result (result)) (canon lift (core func $main "run")))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-instance)))"##;

#[test]
fn outgoing_request_is_denied_not_trapped() {
    let wasm = wat::parse_str(COMPONENT).expect("the test component parses");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("http.wasm");
    std::fs::write(&input, wasm).unwrap();
    let exe = dir.path().join("http");
    let out = smelt(&[
        "build",
        input.to_str().unwrap(),
        "-o",
        exe.to_str().unwrap(),
    ])
    .expect("run smelt");
    assert!(
        out.status.success(),
        "smelt build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = smelt_tests::run(&exe, &[]).expect("run the component");
    let stderr = String::from_utf8_lossy(&run.stderr);
    match run.status.code() {
        Some(0) => {}
        Some(n) if (1..CHECKS.len() as i32).contains(&n) => {
            panic!("check {n} failed: {}\n{stderr}", CHECKS[n as usize])
        }
        other => panic!("the component ended with {other:?} (a trap?):\n{stderr}"),
    }
}
