//! Errno names and short texts, so error lines say `ENOENT`, not `2`
//! (no_std rustix prints only the number).
//!
//! Numbering is asm-generic (include/uapi/asm-generic/errno-base.h and
//! errno.h), which x86_64 and aarch64 share. Aliases get their primary name:
//! EWOULDBLOCK is EAGAIN (11), EDEADLOCK is EDEADLK (35). Kernel-internal
//! numbers (ERESTARTSYS and the others from 512 up) never reach user space
//! and are not listed.

/// The numbers the pure core matches on (asm-generic, as the table below).
pub mod num {
    pub const ENOENT: i32 = 2;
    pub const EIO: i32 = 5;
    pub const ENXIO: i32 = 6;
    pub const EACCES: i32 = 13;
    pub const EEXIST: i32 = 17;
    pub const ENODEV: i32 = 19;
    pub const EINVAL: i32 = 22;
    pub const ENOSPC: i32 = 28;
    pub const EROFS: i32 = 30;
    /// A verified layer failed its dm-verity set-up (its own line says why).
    pub const EBADMSG: i32 = 74;
}

/// The errno name, e.g. `name(2) == Some("ENOENT")`.
pub fn name(errno: i32) -> Option<&'static str> {
    find(errno).map(|(name, _)| name)
}

/// A short lowercase description like strerror's, e.g. `text(2) ==
/// Some("no such file or directory")`. Only the errnos a boot can meet
/// (file, mount, exec, module and device errors) carry a text: the table
/// is linked into an init with a 96 KiB budget. The others have their name only.
pub fn text(errno: i32) -> Option<&'static str> {
    find(errno).map(|(_, text)| text).filter(|t| !t.is_empty())
}

fn find(errno: i32) -> Option<(&'static str, &'static str)> {
    let mut rest = TABLE;
    while !rest.is_empty() {
        let (line, next) = cut(rest, b'\n');
        rest = next;
        let (num, entry) = cut(line, b' ');
        if number(num) == errno {
            return Some(cut(entry, b' '));
        }
    }
    None
}

/// `s` up to the first `sep`, and what follows it ("" without one). A byte
/// search: `str::split_once(char)` would link a char searcher, ~600 bytes
/// of init; `get` instead of indexing: no char-boundary panic path (288
/// bytes; `sep` is ASCII, so the boundaries always hold).
fn cut(s: &str, sep: u8) -> (&str, &str) {
    match s.bytes().position(|b| b == sep) {
        Some(i) => (s.get(..i).unwrap_or(""), s.get(i + 1..).unwrap_or("")),
        None => (s, ""),
    }
}

/// Decimal value of a table number; -1 for anything else (no errno is
/// negative, so it never matches).
fn number(digits: &str) -> i32 {
    digits
        .bytes()
        .try_fold(0i32, |n, b| match b {
            b'0'..=b'9' => n.checked_mul(10)?.checked_add(i32::from(b - b'0')),
            _ => None,
        })
        .unwrap_or(-1)
}

/// `number NAME text`, one errno a line, ascending. Kept as one string, not
/// an array of `&str`, because the static-pie `init` would pay a relocation
/// for every pointer in such an array.
const TABLE: &str = "\
1 EPERM operation not permitted
2 ENOENT no such file or directory
3 ESRCH 
4 EINTR interrupted system call
5 EIO input/output error
6 ENXIO no such device or address
7 E2BIG argument list too long
8 ENOEXEC exec format error
9 EBADF bad file descriptor
10 ECHILD 
11 EAGAIN resource temporarily unavailable
12 ENOMEM cannot allocate memory
13 EACCES permission denied
14 EFAULT bad address
15 ENOTBLK block device required
16 EBUSY device or resource busy
17 EEXIST file exists
18 EXDEV invalid cross-device link
19 ENODEV no such device
20 ENOTDIR not a directory
21 EISDIR is a directory
22 EINVAL invalid argument
23 ENFILE too many open files in system
24 EMFILE too many open files
25 ENOTTY inappropriate ioctl for device
26 ETXTBSY text file busy
27 EFBIG file too large
28 ENOSPC no space left on device
29 ESPIPE 
30 EROFS read-only file system
31 EMLINK too many links
32 EPIPE 
33 EDOM 
34 ERANGE 
35 EDEADLK 
36 ENAMETOOLONG file name too long
37 ENOLCK 
38 ENOSYS function not implemented
39 ENOTEMPTY directory not empty
40 ELOOP too many levels of symbolic links
42 ENOMSG 
43 EIDRM 
44 ECHRNG 
45 EL2NSYNC 
46 EL3HLT 
47 EL3RST 
48 ELNRNG 
49 EUNATCH 
50 ENOCSI 
51 EL2HLT 
52 EBADE 
53 EBADR 
54 EXFULL 
55 ENOANO 
56 EBADRQC 
57 EBADSLT 
59 EBFONT 
60 ENOSTR 
61 ENODATA no data available
62 ETIME 
63 ENOSR 
64 ENONET 
65 ENOPKG package not installed
66 EREMOTE 
67 ENOLINK link has been severed
68 EADV 
69 ESRMNT 
70 ECOMM 
71 EPROTO protocol error
72 EMULTIHOP 
73 EDOTDOT 
74 EBADMSG bad message
75 EOVERFLOW value too large for data type
76 ENOTUNIQ name not unique
77 EBADFD 
78 EREMCHG 
79 ELIBACC 
80 ELIBBAD accessing a corrupted shared library
81 ELIBSCN 
82 ELIBMAX 
83 ELIBEXEC 
84 EILSEQ 
85 ERESTART 
86 ESTRPIPE 
87 EUSERS 
88 ENOTSOCK 
89 EDESTADDRREQ 
90 EMSGSIZE 
91 EPROTOTYPE 
92 ENOPROTOOPT 
93 EPROTONOSUPPORT 
94 ESOCKTNOSUPPORT 
95 EOPNOTSUPP operation not supported
96 EPFNOSUPPORT 
97 EAFNOSUPPORT 
98 EADDRINUSE 
99 EADDRNOTAVAIL 
100 ENETDOWN 
101 ENETUNREACH 
102 ENETRESET 
103 ECONNABORTED 
104 ECONNRESET 
105 ENOBUFS 
106 EISCONN 
107 ENOTCONN 
108 ESHUTDOWN 
109 ETOOMANYREFS 
110 ETIMEDOUT connection timed out
111 ECONNREFUSED 
112 EHOSTDOWN 
113 EHOSTUNREACH 
114 EALREADY 
115 EINPROGRESS 
116 ESTALE stale file handle
117 EUCLEAN structure needs cleaning
118 ENOTNAM 
119 ENAVAIL 
120 EISNAM 
121 EREMOTEIO 
122 EDQUOT disk quota exceeded
123 ENOMEDIUM no medium found
124 EMEDIUMTYPE wrong medium type
125 ECANCELED 
126 ENOKEY required key not available
127 EKEYEXPIRED key has expired
128 EKEYREVOKED 
129 EKEYREJECTED key was rejected by service
130 EOWNERDEAD 
131 ENOTRECOVERABLE 
132 ERFKILL 
133 EHWPOISON ";

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn table_is_sorted_unique_and_well_formed() {
        let mut last = 0;
        let mut names = Vec::new();
        for line in TABLE.split('\n') {
            let mut f = line.splitn(3, ' ');
            let (num, name, text) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            let n = number(num);
            assert!(n > last, "{line}: not ascending");
            last = n;
            assert!(name.starts_with('E') && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
            assert!(!text.starts_with(' ') && !text.ends_with(' '), "{line}");
            assert!(!names.contains(&name), "{name} twice");
            names.push(name);
        }
        assert_eq!(last, 133);
        // 1..=133 less 41 and 58, the two numbers asm-generic leaves unused.
        assert_eq!(names.len(), 131);
    }

    #[test]
    fn matches_libc() {
        let known = [
            (libc::EPERM, "EPERM"),
            (libc::ENOENT, "ENOENT"),
            (libc::ESRCH, "ESRCH"),
            (libc::EINTR, "EINTR"),
            (libc::EIO, "EIO"),
            (libc::ENXIO, "ENXIO"),
            (libc::E2BIG, "E2BIG"),
            (libc::ENOEXEC, "ENOEXEC"),
            (libc::EBADF, "EBADF"),
            (libc::ECHILD, "ECHILD"),
            (libc::EAGAIN, "EAGAIN"),
            (libc::EWOULDBLOCK, "EAGAIN"),
            (libc::ENOMEM, "ENOMEM"),
            (libc::EACCES, "EACCES"),
            (libc::EFAULT, "EFAULT"),
            (libc::ENOTBLK, "ENOTBLK"),
            (libc::EBUSY, "EBUSY"),
            (libc::EEXIST, "EEXIST"),
            (libc::EXDEV, "EXDEV"),
            (libc::ENODEV, "ENODEV"),
            (libc::ENOTDIR, "ENOTDIR"),
            (libc::EISDIR, "EISDIR"),
            (libc::EINVAL, "EINVAL"),
            (libc::EMFILE, "EMFILE"),
            (libc::ENOTTY, "ENOTTY"),
            (libc::ETXTBSY, "ETXTBSY"),
            (libc::ENOSPC, "ENOSPC"),
            (libc::EROFS, "EROFS"),
            (libc::EPIPE, "EPIPE"),
            (libc::ERANGE, "ERANGE"),
            (libc::EDEADLK, "EDEADLK"),
            (libc::EDEADLOCK, "EDEADLK"),
            (libc::ENAMETOOLONG, "ENAMETOOLONG"),
            (libc::ENOSYS, "ENOSYS"),
            (libc::ENOTEMPTY, "ENOTEMPTY"),
            (libc::ELOOP, "ELOOP"),
            (libc::ENOMSG, "ENOMSG"),
            (libc::EBFONT, "EBFONT"),
            (libc::ENODATA, "ENODATA"),
            (libc::ENOLINK, "ENOLINK"),
            (libc::EPROTO, "EPROTO"),
            (libc::EBADMSG, "EBADMSG"),
            (libc::EOVERFLOW, "EOVERFLOW"),
            (libc::EILSEQ, "EILSEQ"),
            (libc::ERESTART, "ERESTART"),
            (libc::ENOTSOCK, "ENOTSOCK"),
            (libc::EOPNOTSUPP, "EOPNOTSUPP"),
            (libc::EADDRINUSE, "EADDRINUSE"),
            (libc::ENETUNREACH, "ENETUNREACH"),
            (libc::ECONNRESET, "ECONNRESET"),
            (libc::ETIMEDOUT, "ETIMEDOUT"),
            (libc::ECONNREFUSED, "ECONNREFUSED"),
            (libc::EHOSTUNREACH, "EHOSTUNREACH"),
            (libc::ESTALE, "ESTALE"),
            (libc::EUCLEAN, "EUCLEAN"),
            (libc::EDQUOT, "EDQUOT"),
            (libc::ENOMEDIUM, "ENOMEDIUM"),
            (libc::ECANCELED, "ECANCELED"),
            (libc::ENOKEY, "ENOKEY"),
            (libc::EKEYREJECTED, "EKEYREJECTED"),
            (libc::EOWNERDEAD, "EOWNERDEAD"),
            (libc::ENOTRECOVERABLE, "ENOTRECOVERABLE"),
            (libc::ERFKILL, "ERFKILL"),
            (libc::EHWPOISON, "EHWPOISON"),
        ];
        for (num, want) in known {
            assert_eq!(name(num), Some(want), "{num}");
        }
        for num in [libc::ENOENT, libc::ENODEV, libc::EINVAL, libc::EROFS, libc::ENOSPC, libc::ETIMEDOUT, libc::ENOEXEC]
        {
            assert!(text(num).is_some(), "{num} has no text");
        }
    }

    #[test]
    fn named_numbers_match_libc() {
        use num::*;
        let pairs = [
            (ENOENT, libc::ENOENT),
            (ENXIO, libc::ENXIO),
            (EACCES, libc::EACCES),
            (EEXIST, libc::EEXIST),
            (ENODEV, libc::ENODEV),
            (EINVAL, libc::EINVAL),
            (ENOSPC, libc::ENOSPC),
            (EROFS, libc::EROFS),
        ];
        for (ours, theirs) in pairs {
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn texts() {
        assert_eq!(text(2), Some("no such file or directory"));
        assert_eq!(text(22), Some("invalid argument"));
        assert_eq!(text(133), None);
        assert_eq!(name(133), Some("EHWPOISON"));
    }

    #[test]
    fn unknown_numbers() {
        for n in [0, -1, -2, 41, 58, 134, 512, i32::MAX, i32::MIN] {
            assert_eq!((name(n), text(n)), (None, None), "{n}");
        }
        assert_eq!(number("12x"), -1);
        assert_eq!(number("99999999999"), -1);
    }
}
