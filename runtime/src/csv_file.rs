//! Files of rows in CSV form, for the import jobs that take a file (WeCom's `batch/*`): the
//! spec gives a row type's columns (header text, order, how a list is joined) and the generator
//! implements [`CsvRow`]; [`write_csv`] writes the file (UTF-8, no BOM, a header row first) with
//! the `csv` crate, which quotes whatever needs quoting.

use crate::validate::WireText;

/// A row type with a CSV form.
pub trait CsvRow {
    /// The header row, in column order.
    const HEADERS: &'static [&'static str];
    /// The row's cells, in column order (an unset value is an empty cell).
    fn cells(&self) -> Vec<String>;
}

/// A cell of a value that is always set.
pub fn cell<T: WireText + ?Sized>(value: &T) -> String {
    value.wire_text()
}

/// A cell of an optional value: empty when unset.
pub fn optional_cell<T: WireText>(value: &Option<T>) -> String {
    value.as_ref().map(WireText::wire_text).unwrap_or_default()
}

/// A cell of a list: its items joined by `separator`.
pub fn list_cell<T: WireText>(items: &[T], separator: &str) -> String {
    items.iter().map(WireText::wire_text).collect::<Vec<_>>().join(separator)
}

/// A cell of an optional list: empty when unset.
pub fn optional_list_cell<T: WireText>(items: &Option<Vec<T>>, separator: &str) -> String {
    items.as_deref().map(|items| list_cell(items, separator)).unwrap_or_default()
}

/// The CSV file of `rows`: UTF-8 without a BOM, the header row first, `\n` line ends.
pub fn write_csv<'r, R: CsvRow + 'r>(rows: impl IntoIterator<Item = &'r R>) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Writing into memory does not fail: the writer's only errors are its sink's.
    let _ = writer.write_record(R::HEADERS);
    for row in rows {
        let _ = writer.write_record(row.cells());
    }
    writer.into_inner().unwrap_or_else(|e| e.into_inner().get_ref().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Member {
        name: String,
        userid: String,
        departments: Vec<i32>,
        position: Option<String>,
    }

    impl CsvRow for Member {
        const HEADERS: &'static [&'static str] = &["姓名", "帐号", "所在部门", "职位"];
        fn cells(&self) -> Vec<String> {
            vec![
                cell(&self.name),
                cell(&self.userid),
                list_cell(&self.departments, ";"),
                optional_cell(&self.position),
            ]
        }
    }

    #[test]
    fn a_file_is_the_header_row_and_one_line_per_row_quoted_as_needed() {
        let rows = [
            Member {
                name: "张三".into(),
                userid: "zhangsan".into(),
                departments: vec![1, 2],
                position: None,
            },
            Member {
                name: "Li, \"Si\"".into(),
                userid: "lisi".into(),
                departments: vec![3],
                position: Some("产品\n经理".into()),
            },
        ];
        let text = String::from_utf8(write_csv(&rows)).unwrap();
        assert_eq!(
            text,
            "姓名,帐号,所在部门,职位\n张三,zhangsan,1;2,\n\"Li, \"\"Si\"\"\",lisi,3,\"产品\n经理\"\n"
        );
    }
}
