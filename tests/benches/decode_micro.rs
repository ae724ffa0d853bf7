//! Decoding alone, no network: one `department/list` answer typed by serde derive (what a
//! hand-written client does), by the client's one-pass read, and by the member-by-member read
//! the client falls back to when the first pass fails.
//!
//! `cargo bench -p qywx-tests --bench decode_micro` (env: BENCH_ANSWERS, answers per round)

use std::hint::black_box;
use std::time::Instant;

use qywx::runtime::{decode_answer, decode_answer_by_member};
use qywx::wecom::{department, SERVICE};
use serde::Deserialize;

const DEPARTMENTS: &str = r#"{"errcode":0,"errmsg":"ok","department":[{"id":1,"name":"广州研发中心","parentid":0},{"id":2,"name":"邮箱产品部","parentid":1},{"id":3,"name":"测试部","parentid":1}]}"#;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Dept {
    id: i32,
    name: String,
    parentid: i32,
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

fn main() {
    let answers = std::env::var("BENCH_ANSWERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let endpoint = &department::LIST_DEPARTMENTS;
    for _ in 0..3 {
        let derive = time(answers, |body| {
            let answer: ListAnswer = serde_json::from_slice(body).unwrap();
            answer.department.len()
        });
        let one_pass = time(answers, |body| {
            let answer: department::ListDepartmentsResponse = decode_answer(&SERVICE, endpoint, 200, body).unwrap();
            answer.department.len()
        });
        let by_member = time(answers, |body| {
            let answer: department::ListDepartmentsResponse =
                decode_answer_by_member(&SERVICE, endpoint, 200, body).unwrap();
            answer.department.len()
        });
        println!("ns per answer: serde derive {derive:.0}, one pass {one_pass:.0}, member by member {by_member:.0}");
    }
}
