//! Errno names and short texts, so error lines say `ENOENT`, not `2`
//! (no_std rustix prints only the number).
//!
//! Numbering is asm-generic (include/uapi/asm-generic/errno-base.h and
//! errno.h), which x86_64 and aarch64 share. Aliases get their primary name:
//! EWOULDBLOCK is EAGAIN (11), EDEADLOCK is EDEADLK (35). Kernel-internal
//! numbers (ERESTARTSYS and the others from 512 up) never reach user space
//! and are not listed.

/// The errno name, e.g. `name(2) == Some("ENOENT")`.
pub fn name(errno: i32) -> Option<&'static str> {
    find(errno).map(|(name, _)| name)
}

/// A short lowercase description like strerror's, e.g. `text(2) ==
/// Some("no such file or directory")`.
pub fn text(errno: i32) -> Option<&'static str> {
    find(errno).map(|(_, text)| text)
}

fn find(errno: i32) -> Option<(&'static str, &'static str)> {
    TABLE.split('\n').find_map(|line| {
        let (num, rest) = line.split_once(' ')?;
        (number(num) == errno).then(|| rest.split_once(' '))?
    })
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
3 ESRCH no such process
4 EINTR interrupted system call
5 EIO input/output error
6 ENXIO no such device or address
7 E2BIG argument list too long
8 ENOEXEC exec format error
9 EBADF bad file descriptor
10 ECHILD no child processes
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
29 ESPIPE illegal seek
30 EROFS read-only file system
31 EMLINK too many links
32 EPIPE broken pipe
33 EDOM numerical argument out of domain
34 ERANGE numerical result out of range
35 EDEADLK resource deadlock avoided
36 ENAMETOOLONG file name too long
37 ENOLCK no locks available
38 ENOSYS function not implemented
39 ENOTEMPTY directory not empty
40 ELOOP too many levels of symbolic links
42 ENOMSG no message of desired type
43 EIDRM identifier removed
44 ECHRNG channel number out of range
45 EL2NSYNC level 2 not synchronized
46 EL3HLT level 3 halted
47 EL3RST level 3 reset
48 ELNRNG link number out of range
49 EUNATCH protocol driver not attached
50 ENOCSI no CSI structure available
51 EL2HLT level 2 halted
52 EBADE invalid exchange
53 EBADR invalid request descriptor
54 EXFULL exchange full
55 ENOANO no anode
56 EBADRQC invalid request code
57 EBADSLT invalid slot
59 EBFONT bad font file format
60 ENOSTR device not a stream
61 ENODATA no data available
62 ETIME timer expired
63 ENOSR out of streams resources
64 ENONET machine is not on the network
65 ENOPKG package not installed
66 EREMOTE object is remote
67 ENOLINK link has been severed
68 EADV advertise error
69 ESRMNT srmount error
70 ECOMM communication error on send
71 EPROTO protocol error
72 EMULTIHOP multihop attempted
73 EDOTDOT RFS specific error
74 EBADMSG bad message
75 EOVERFLOW value too large for data type
76 ENOTUNIQ name not unique on network
77 EBADFD file descriptor in bad state
78 EREMCHG remote address changed
79 ELIBACC cannot access a needed shared library
80 ELIBBAD accessing a corrupted shared library
81 ELIBSCN .lib section in a.out corrupted
82 ELIBMAX too many shared libraries
83 ELIBEXEC cannot exec a shared library directly
84 EILSEQ invalid or incomplete multibyte character
85 ERESTART interrupted system call should be restarted
86 ESTRPIPE streams pipe error
87 EUSERS too many users
88 ENOTSOCK socket operation on non-socket
89 EDESTADDRREQ destination address required
90 EMSGSIZE message too long
91 EPROTOTYPE protocol wrong type for socket
92 ENOPROTOOPT protocol not available
93 EPROTONOSUPPORT protocol not supported
94 ESOCKTNOSUPPORT socket type not supported
95 EOPNOTSUPP operation not supported
96 EPFNOSUPPORT protocol family not supported
97 EAFNOSUPPORT address family not supported by protocol
98 EADDRINUSE address already in use
99 EADDRNOTAVAIL cannot assign requested address
100 ENETDOWN network is down
101 ENETUNREACH network is unreachable
102 ENETRESET network dropped connection on reset
103 ECONNABORTED software caused connection abort
104 ECONNRESET connection reset by peer
105 ENOBUFS no buffer space available
106 EISCONN transport endpoint is already connected
107 ENOTCONN transport endpoint is not connected
108 ESHUTDOWN cannot send after transport endpoint shutdown
109 ETOOMANYREFS too many references
110 ETIMEDOUT connection timed out
111 ECONNREFUSED connection refused
112 EHOSTDOWN host is down
113 EHOSTUNREACH no route to host
114 EALREADY operation already in progress
115 EINPROGRESS operation now in progress
116 ESTALE stale file handle
117 EUCLEAN structure needs cleaning
118 ENOTNAM not a XENIX named type file
119 ENAVAIL no XENIX semaphores available
120 EISNAM is a named type file
121 EREMOTEIO remote I/O error
122 EDQUOT disk quota exceeded
123 ENOMEDIUM no medium found
124 EMEDIUMTYPE wrong medium type
125 ECANCELED operation canceled
126 ENOKEY required key not available
127 EKEYEXPIRED key has expired
128 EKEYREVOKED key has been revoked
129 EKEYREJECTED key was rejected by service
130 EOWNERDEAD owner died
131 ENOTRECOVERABLE state not recoverable
132 ERFKILL operation not possible due to RF-kill
133 EHWPOISON memory page has hardware error";

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
            assert!(!text.is_empty() && !text.starts_with(' ') && !text.ends_with(' '), "{line}");
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
            assert!(text(num).is_some());
        }
    }

    #[test]
    fn texts() {
        assert_eq!(text(2), Some("no such file or directory"));
        assert_eq!(text(22), Some("invalid argument"));
        assert_eq!(text(133), Some("memory page has hardware error"));
        assert_eq!(text(81), Some(".lib section in a.out corrupted"));
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
