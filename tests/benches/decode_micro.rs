//! Decoding alone, no network: one `department/list` answer typed by serde derive (what a
//! hand-written client does) and by the generated types' read, the path every client call takes.
//!
//! `cargo bench -p qywx-tests --bench decode_micro` (env: BENCH_ANSWERS answers per round,
//! BENCH_ROUNDS rounds; the figure to read is the median per-round ratio)

use std::hint::black_box;
use std::time::Instant;

use qywx::runtime::decode_answer;
use qywx::wecom::{department, SERVICE};
use serde::Deserialize;

const DEPARTMENTS: &str = r#"{"errcode":0,"errmsg":"ok","department":[{"id":1,"name":"广州研发中心","parentid":0},{"id":2,"name":"邮箱产品部","parentid":1},{"id":3,"name":"测试部","parentid":1}]}"#;

/// The members `department/list` documents, as a hand-written client models them.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Dept {
    id: i32,
    name: Option<String>,
    name_en: Option<String>,
    department_leader: Option<Vec<String>>,
    parentid: i32,
    order: Option<u32>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct ListAnswer {
    errcode: i64,
    errmsg: String,
    department: Vec<Dept>,
}

/// Nanoseconds per answer of `decode` over `answers` answers.
fn time(answers: usize, decode: impl Fn(&[u8]) -> usize) -> f64 {
    let start = Instant::now();
    for _ in 0..answers {
        assert_eq!(decode(black_box(DEPARTMENTS.as_bytes())), 3);
    }
    start.elapsed().as_nanos() as f64 / answers as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let answers = std::env::var("BENCH_ANSWERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let rounds = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(51);
    let endpoint = &department::LIST_DEPARTMENTS;
    let (mut derive_ns, mut one_pass_ns, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Both back to back in short rounds, taking turns to go first: the per-round ratio
        // cancels drift in machine load and the order's effect on caches.
        let derive = || {
            time(answers, |body| {
                let answer: ListAnswer = serde_json::from_slice(body).unwrap();
                answer.department.len()
            })
        };
        let generated = || {
            time(answers, |body| {
                let answer: department::ListDepartmentsResponse =
                    decode_answer(&SERVICE, endpoint, 200, body).unwrap();
                answer.department.len()
            })
        };
        let (derive, one_pass) = if round % 2 == 0 {
            let d = derive();
            (d, generated())
        } else {
            let g = generated();
            (derive(), g)
        };
        derive_ns.push(derive);
        one_pass_ns.push(one_pass);
        ratios.push(one_pass / derive);
    }
    println!(
        "median: serde derive {:.0} ns, generated read {:.0} ns; median per-round ratio {:.3}",
        median(derive_ns),
        median(one_pass_ns),
        median(ratios)
    );
}
