#!/usr/bin/env python3
"""The HTTP server the client tests (tests/tests/http_client.rs) send to.

Usage: test_server.py [--tls CERT KEY]

Listens on 127.0.0.1 (port 0: a free one), prints `listening PORT` on
stdout, and serves until stdin closes (so that it ends with the test that
started it). Over TLS with CERT and KEY (PEM) when given. Paths:

  /big/N            200, N bytes of the pattern byte i = i % 251 (Content-Length)
  /chunked/N        200, the same N bytes, chunked, with trailer x-total: N
  /echo             200, the request body (Content-Length or chunked) back,
                    chunked, with trailer x-body-length
  /slow-head/MS     waits MS milliseconds before the response head
  /slow-body/MS     sends a head and 10 bytes, waits MS ms, sends 10 more
  /close-early      announces 100 bytes and closes after 10
"""

import socketserver
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def pattern(n):
    return bytes(i % 251 for i in range(n))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def chunked(self, data, trailers):
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(data), 65536):
            piece = data[i:i + 65536]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n")
        for name, value in trailers:
            self.wfile.write(("%s: %s\r\n" % (name, value)).encode())
        self.wfile.write(b"\r\n")

    def handle_any(self):
        parts = self.path.split("/")
        body = self.read_body()
        if parts[1] == "big":
            data = pattern(int(parts[2]))
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif parts[1] == "chunked":
            self.send_response(200)
            self.chunked(pattern(int(parts[2])), [("x-total", parts[2])])
        elif parts[1] == "echo":
            self.send_response(200)
            self.send_header("x-method", self.command)
            self.chunked(body, [("x-body-length", str(len(body)))])
        elif parts[1] == "slow-head":
            time.sleep(int(parts[2]) / 1000)
            self.send_response(204)
            self.end_headers()
        elif parts[1] == "slow-body":
            self.send_response(200)
            self.send_header("Content-Length", "20")
            self.end_headers()
            self.wfile.write(pattern(10))
            self.wfile.flush()
            time.sleep(int(parts[2]) / 1000)
            self.wfile.write(pattern(10))
        elif parts[1] == "close-early":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(pattern(10))
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    do_GET = do_POST = do_PUT = do_HEAD = handle_any


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("listening", server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
