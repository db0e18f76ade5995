//! Dense matrix multiply: f64 matrices, i-k-j loop order over row-major
//! storage (the inner loop streams through both rows), then a blocked f32
//! variant.

use bench::Rng;

fn matmul(a: &[f64], b: &[f64], c: &mut [f64], n: usize) {
    for i in 0..n {
        let row = &mut c[i * n..(i + 1) * n];
        row.fill(0.0);
        for k in 0..n {
            let aik = a[i * n + k];
            let brow = &b[k * n..(k + 1) * n];
            for (cij, bkj) in row.iter_mut().zip(brow) {
                *cij += aik * bkj;
            }
        }
    }
}

fn matmul_blocked(a: &[f32], b: &[f32], c: &mut [f32], n: usize, bs: usize) {
    c.fill(0.0);
    for ii in (0..n).step_by(bs) {
        for kk in (0..n).step_by(bs) {
            for jj in (0..n).step_by(bs) {
                for i in ii..(ii + bs).min(n) {
                    for k in kk..(kk + bs).min(n) {
                        let aik = a[i * n + k];
                        for j in jj..(jj + bs).min(n) {
                            c[i * n + j] += aik * b[k * n + j];
                        }
                    }
                }
            }
        }
    }
}

fn main() {
    let size = bench::size();
    let n = size.pick(48, 800);
    let mut rng = Rng::new(8);
    let a: Vec<f64> = (0..n * n).map(|_| rng.unit() - 0.5).collect();
    let b: Vec<f64> = (0..n * n).map(|_| rng.unit() - 0.5).collect();
    let mut c = vec![0.0; n * n];
    let mut d = vec![0.0; n * n];
    matmul(&a, &b, &mut c, n);
    matmul(&c, &a, &mut d, n);
    let trace: f64 = (0..n).map(|i| d[i * n + i]).sum();
    let af: Vec<f32> = a.iter().map(|&x| x as f32).collect();
    let bf: Vec<f32> = b.iter().map(|&x| x as f32).collect();
    let mut cf = vec![0.0f32; n * n];
    matmul_blocked(&af, &bf, &mut cf, n, 64);
    let sumf: f64 = cf.iter().map(|&x| x as f64).sum();
    println!("matmul: n {n}, trace {trace:.6e}, f32 sum {sumf:.6e}");
}
