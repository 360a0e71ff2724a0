// TEMPORARY until overinit::superblock / devspec land.
pub const PROBE_BYTES: usize = 4096;
pub struct FsInfo {
    pub fstype: &'static str,
}
pub fn identify(b: &[u8]) -> Option<FsInfo> {
    if b.len() > 1082 && b[1080] == 0x53 && b[1081] == 0xef {
        Some(FsInfo { fstype: "ext4" })
    } else {
        None
    }
}
pub enum DevSpec<'a> {
    Path(&'a [u8]),
    MajMin(u32, u32),
    Uuid(&'a [u8]),
    Label(&'a [u8]),
}
pub struct E;
impl E {
    pub fn message(&self) -> &'static str {
        "bad"
    }
}
impl<'a> DevSpec<'a> {
    pub fn parse(s: &'a [u8]) -> Result<Self, E> {
        if s.starts_with(b"/dev/") {
            Ok(DevSpec::Path(s))
        } else {
            Err(E)
        }
    }
    pub fn matches_fs(&self, _i: &FsInfo) -> bool {
        false
    }
}
