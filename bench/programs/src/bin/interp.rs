//! A bytecode interpreter loop: a small stack machine (locals, arithmetic,
//! compares, jumps, calls) running three programs written in its bytecode:
//! counting primes by trial division, recursive Fibonacci, and a
//! Collatz-length search. The dispatch is a `match` in a loop, the shape of
//! most real interpreters.

#[derive(Clone, Copy, Debug)]
enum Op {
    Push(i64),
    Load(u8),
    Store(u8),
    Arg(u8),
    Add,
    Sub,
    Mul,
    Rem,
    Div,
    Lt,
    Eq,
    Jmp(u32),
    Jz(u32),
    Call(u32, u8),
    Ret,
    Halt,
}

struct Vm {
    stack: Vec<i64>,
    frames: Vec<(u32, u32)>,
    locals: [i64; 16],
    steps: u64,
}

impl Vm {
    fn new() -> Vm {
        Vm {
            stack: Vec::with_capacity(1024),
            frames: Vec::with_capacity(256),
            locals: [0; 16],
            steps: 0,
        }
    }

    fn run(&mut self, code: &[Op]) -> i64 {
        let mut pc = 0usize;
        let mut base = 0usize;
        loop {
            let op = code[pc];
            pc += 1;
            self.steps += 1;
            match op {
                Op::Push(v) => self.stack.push(v),
                Op::Load(i) => self.stack.push(self.locals[i as usize]),
                Op::Store(i) => self.locals[i as usize] = self.stack.pop().unwrap(),
                Op::Arg(i) => self.stack.push(self.stack[base + i as usize]),
                Op::Add => self.binary(|a, b| a.wrapping_add(b)),
                Op::Sub => self.binary(|a, b| a.wrapping_sub(b)),
                Op::Mul => self.binary(|a, b| a.wrapping_mul(b)),
                Op::Rem => self.binary(|a, b| a % b),
                Op::Div => self.binary(|a, b| a / b),
                Op::Lt => self.binary(|a, b| (a < b) as i64),
                Op::Eq => self.binary(|a, b| (a == b) as i64),
                Op::Jmp(t) => pc = t as usize,
                Op::Jz(t) => {
                    if self.stack.pop().unwrap() == 0 {
                        pc = t as usize;
                    }
                }
                Op::Call(t, nargs) => {
                    self.frames.push((pc as u32, base as u32));
                    base = self.stack.len() - nargs as usize;
                    pc = t as usize;
                }
                Op::Ret => {
                    let v = self.stack.pop().unwrap();
                    let (ret, old_base) = self.frames.pop().unwrap();
                    self.stack.truncate(base);
                    self.stack.push(v);
                    pc = ret as usize;
                    base = old_base as usize;
                }
                Op::Halt => return self.stack.pop().unwrap(),
            }
        }
    }

    #[inline(always)]
    fn binary(&mut self, f: impl Fn(i64, i64) -> i64) {
        let b = self.stack.pop().unwrap();
        let a = self.stack.pop().unwrap();
        self.stack.push(f(a, b));
    }
}

/// An assembler with forward labels: `label(name)` marks a place, jumps name
/// labels and are patched by `finish`.
struct Asm {
    code: Vec<Op>,
    labels: Vec<(&'static str, u32)>,
    fixups: Vec<(usize, &'static str)>,
}

impl Asm {
    fn new() -> Asm {
        Asm {
            code: Vec::new(),
            labels: Vec::new(),
            fixups: Vec::new(),
        }
    }
    fn op(&mut self, op: Op) -> &mut Asm {
        self.code.push(op);
        self
    }
    fn label(&mut self, name: &'static str) -> &mut Asm {
        self.labels.push((name, self.code.len() as u32));
        self
    }
    fn jump(&mut self, make: fn(u32) -> Op, name: &'static str) -> &mut Asm {
        self.fixups.push((self.code.len(), name));
        self.code.push(make(0));
        self
    }
    fn call(&mut self, name: &'static str, nargs: u8) -> &mut Asm {
        self.fixups.push((self.code.len(), name));
        self.code.push(Op::Call(0, nargs));
        self
    }
    fn finish(&mut self) -> Vec<Op> {
        for &(at, name) in &self.fixups {
            let target = self
                .labels
                .iter()
                .find(|l| l.0 == name)
                .expect("undefined label")
                .1;
            self.code[at] = match self.code[at] {
                Op::Jmp(_) => Op::Jmp(target),
                Op::Jz(_) => Op::Jz(target),
                Op::Call(_, n) => Op::Call(target, n),
                op => panic!("cannot patch {op:?}"),
            };
        }
        std::mem::take(&mut self.code)
    }
}

/// Counts the primes below `limit` by trial division.
fn primes(limit: i64) -> Vec<Op> {
    use Op::*;
    let mut a = Asm::new();
    // locals: 0 count, 1 n, 2 d, 3 prime
    a.op(Push(0)).op(Store(0)).op(Push(2)).op(Store(1));
    a.label("n_loop")
        .op(Load(1))
        .op(Push(limit))
        .op(Lt)
        .jump(Jz, "end");
    a.op(Push(2)).op(Store(2)).op(Push(1)).op(Store(3));
    a.label("d_loop")
        .op(Load(1))
        .op(Load(2))
        .op(Load(2))
        .op(Mul)
        .op(Lt)
        .op(Push(0))
        .op(Eq)
        .jump(Jz, "d_done");
    a.op(Load(1)).op(Load(2)).op(Rem).jump(Jz, "composite");
    a.op(Load(2))
        .op(Push(1))
        .op(Add)
        .op(Store(2))
        .jump(Jmp, "d_loop");
    a.label("composite").op(Push(0)).op(Store(3));
    a.label("d_done")
        .op(Load(0))
        .op(Load(3))
        .op(Add)
        .op(Store(0));
    a.op(Load(1))
        .op(Push(1))
        .op(Add)
        .op(Store(1))
        .jump(Jmp, "n_loop");
    a.label("end").op(Load(0)).op(Halt);
    a.finish()
}

/// Recursive Fibonacci of `n`.
fn fib(n: i64) -> Vec<Op> {
    use Op::*;
    let mut a = Asm::new();
    a.op(Push(n)).call("fib", 1).op(Halt);
    a.label("fib")
        .op(Arg(0))
        .op(Push(2))
        .op(Lt)
        .jump(Jz, "recurse")
        .op(Arg(0))
        .op(Ret);
    a.label("recurse")
        .op(Arg(0))
        .op(Push(1))
        .op(Sub)
        .call("fib", 1);
    a.op(Arg(0))
        .op(Push(2))
        .op(Sub)
        .call("fib", 1)
        .op(Add)
        .op(Ret);
    a.finish()
}

/// The start below `limit` with the longest Collatz sequence, times a
/// million plus its length.
fn collatz(limit: i64) -> Vec<Op> {
    use Op::*;
    let mut a = Asm::new();
    // locals: 0 best, 1 best_len, 2 start, 3 x, 4 len
    a.op(Push(0))
        .op(Store(0))
        .op(Push(0))
        .op(Store(1))
        .op(Push(1))
        .op(Store(2));
    a.label("start")
        .op(Load(2))
        .op(Push(limit))
        .op(Lt)
        .jump(Jz, "end");
    a.op(Load(2)).op(Store(3)).op(Push(0)).op(Store(4));
    a.label("step")
        .op(Load(3))
        .op(Push(1))
        .op(Eq)
        .op(Push(0))
        .op(Eq)
        .jump(Jz, "done");
    a.op(Load(4)).op(Push(1)).op(Add).op(Store(4));
    a.op(Load(3)).op(Push(2)).op(Rem).jump(Jz, "even");
    a.op(Load(3))
        .op(Push(3))
        .op(Mul)
        .op(Push(1))
        .op(Add)
        .op(Store(3))
        .jump(Jmp, "step");
    a.label("even")
        .op(Load(3))
        .op(Push(2))
        .op(Div)
        .op(Store(3))
        .jump(Jmp, "step");
    a.label("done")
        .op(Load(1))
        .op(Load(4))
        .op(Lt)
        .jump(Jz, "next");
    a.op(Load(4)).op(Store(1)).op(Load(2)).op(Store(0));
    a.label("next")
        .op(Load(2))
        .op(Push(1))
        .op(Add)
        .op(Store(2))
        .jump(Jmp, "start");
    a.label("end")
        .op(Load(0))
        .op(Push(1_000_000))
        .op(Mul)
        .op(Load(1))
        .op(Add)
        .op(Halt);
    a.finish()
}

fn main() {
    let size = bench::size();
    let mut vm = Vm::new();
    let p = vm.run(&primes(size.pick(5_000, 250_000)));
    let f = vm.run(&fib(size.pick(16, 27)));
    let c = vm.run(&collatz(size.pick(5_000, 150_000)));
    println!(
        "interp: primes {p} fib {f} collatz {c}, {} instructions",
        vm.steps
    );
}
