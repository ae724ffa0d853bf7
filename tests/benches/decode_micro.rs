use qywx::wecom::department;
use serde::Deserialize;
use std::time::Instant;
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
fn main() {
    let n = 1_000_000;
    if std::env::var("ONLY").is_ok() {
        for _ in 0..3 * n {
            let a: department::ListDepartmentsResponse = qywx::runtime::decode_answer(
                &qywx::wecom::SERVICE,
                &department::LIST_DEPARTMENTS,
                200,
                std::hint::black_box(DEPARTMENTS.as_bytes()),
            )
            .unwrap();
            assert_eq!(a.department.len(), 3);
        }
        return;
    }
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..n {
            let a: ListAnswer = serde_json::from_slice(std::hint::black_box(DEPARTMENTS.as_bytes())).unwrap();
            assert_eq!(a.department.len(), 3);
        }
        let hand = t.elapsed().as_nanos() as f64 / n as f64;
        let t = Instant::now();
        for _ in 0..n {
            let a: department::ListDepartmentsResponse = qywx::runtime::decode_answer(
                &qywx::wecom::SERVICE,
                &department::LIST_DEPARTMENTS,
                200,
                std::hint::black_box(DEPARTMENTS.as_bytes()),
            )
            .unwrap();
            assert_eq!(a.department.len(), 3);
        }
        let one = t.elapsed().as_nanos() as f64 / n as f64;
        let t = Instant::now();
        for _ in 0..n {
            let a: department::ListDepartmentsResponse = qywx::runtime::decode_answer_by_member(
                &qywx::wecom::SERVICE,
                &department::LIST_DEPARTMENTS,
                200,
                std::hint::black_box(DEPARTMENTS.as_bytes()),
            )
            .unwrap();
            assert_eq!(a.department.len(), 3);
        }
        let slow = t.elapsed().as_nanos() as f64 / n as f64;
        println!("ns/answer: serde derive {hand:.0}, one pass {one:.0}, by member {slow:.0}");
    }
}
