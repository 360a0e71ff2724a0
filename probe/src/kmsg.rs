//! Kernel log records from `/dev/kmsg` (Documentation/ABI/testing/dev-kmsg).
//!
//! One read(2) returns one record: `prio,seq,usec,flags[,…];message\n`,
//! optionally followed by ` KEY=value` continuation lines. The message has
//! non-printable bytes escaped as `\xNN` by the kernel.

/// One parsed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// syslog facility*8 + level, as the kernel prints it.
    pub prio: u32,
    pub seq: u64,
    /// Timestamp in µs since boot (the clock of `[    1.234567]`).
    pub usec: u64,
    pub message: String,
}

/// Parses one record; `None` for anything that is not one.
pub fn parse_record(raw: &[u8]) -> Option<Record> {
    let text = String::from_utf8_lossy(raw);
    let (header, rest) = text.split_once(';')?;
    let mut f = header.split(',');
    let prio = f.next()?.parse().ok()?;
    let seq = f.next()?.parse().ok()?;
    let usec = f.next()?.parse().ok()?;
    let message = rest.split('\n').next().unwrap_or("").to_string();
    Some(Record { prio, seq, usec, message })
}

/// Timestamps bracketing the initramfs phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// `Run /init as init process` (first such record).
    pub run_init: u64,
    /// The probe's marker (last such record).
    pub marker: u64,
}

/// Finds the kernel's "Run … as init process" and the probe's marker.
pub fn initramfs_usec(records: &[Record], marker: &str) -> Result<Span, String> {
    let run = records
        .iter()
        .find(|r| r.message.starts_with("Run ") && r.message.ends_with(" as init process"))
        .ok_or("no \"Run … as init process\" record in /dev/kmsg (log buffer overwritten?)")?;
    let mark = records.iter().rev().find(|r| r.message == marker).ok_or_else(|| {
        let last = records.last().map(|r| r.message.as_str()).unwrap_or("");
        format!("marker {marker:?} not in /dev/kmsg ({} records, last {last:?})", records.len())
    })?;
    if mark.usec < run.usec {
        return Err(format!("marker at {} µs before run_init at {} µs", mark.usec, run.usec));
    }
    Ok(Span { run_init: run.usec, marker: mark.usec })
}

/// µs → milliseconds with one decimal, rounded half up: 243_150 → "243.2".
pub fn format_ms(usec: u64) -> String {
    let tenths = (usec + 50) / 100;
    format!("{}.{}", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(usec: u64, msg: &str) -> Record {
        Record { prio: 6, seq: 0, usec, message: msg.into() }
    }

    #[test]
    fn parses_record_with_continuation_lines() {
        let r = parse_record(b"6,339,5140900,-;NET: Registered protocol family 10\n SUBSYSTEM=net\n").unwrap();
        assert_eq!(
            r,
            Record { prio: 6, seq: 339, usec: 5140900, message: "NET: Registered protocol family 10".into() }
        );
    }

    #[test]
    fn parses_extra_header_fields_and_semicolons_in_message() {
        let r = parse_record(b"12,7,1000,c,caller=T1;overinit: a;b").unwrap();
        assert_eq!((r.prio, r.seq, r.usec), (12, 7, 1000));
        assert_eq!(r.message, "overinit: a;b");
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_record(b""), None);
        assert_eq!(parse_record(b"no header"), None);
        assert_eq!(parse_record(b"6,x,1;msg"), None);
        assert_eq!(parse_record(b"6,1;msg"), None);
        assert_eq!(parse_record(&[0xff, b';']), None);
    }

    #[test]
    fn span_from_run_init_to_last_marker() {
        let recs = [
            rec(100, "Linux version 6.1"),
            rec(1_000_000, "Run /init as init process"),
            rec(1_100_000, "overinit-probe: start"),
            rec(1_243_150, "overinit-probe: start"),
        ];
        let s = initramfs_usec(&recs, "overinit-probe: start").unwrap();
        assert_eq!(s, Span { run_init: 1_000_000, marker: 1_243_150 });
        assert_eq!(format_ms(s.marker - s.run_init), "243.2");
    }

    #[test]
    fn span_errors_name_what_is_missing() {
        let e = initramfs_usec(&[rec(5, "overinit-probe: start")], "overinit-probe: start");
        assert!(e.unwrap_err().contains("Run"));
        let e = initramfs_usec(&[rec(5, "Run /init as init process")], "overinit-probe: start");
        assert!(e.unwrap_err().contains("marker"));
    }

    #[test]
    fn ms_formatting() {
        assert_eq!(format_ms(0), "0.0");
        assert_eq!(format_ms(49), "0.0");
        assert_eq!(format_ms(50), "0.1");
        assert_eq!(format_ms(1_999_960), "2000.0");
    }
}
