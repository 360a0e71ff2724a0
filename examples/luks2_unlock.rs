//! `luks2_unlock IMAGE [ROUNDS]`: unlock a LUKS2 image with the passphrase
//! read from stdin, as `init` does (same code, same profile), and print the
//! keyslot that opened and the time of each round, in ms. Exit 1 if no
//! keyslot takes the passphrase. Used by bench/luks2.sh; prints no key.

use overinit::luks2::header::{self, HDR_MAX};
use overinit::luks2::keyslot::{self, Block};
use overinit::luks2::metadata::Metadata;
use std::io::Read;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), rounds) = (args.get(1), args.get(2).map_or(1, |r| r.parse().unwrap())) else {
        eprintln!("usage: luks2_unlock IMAGE [ROUNDS] < passphrase");
        std::process::exit(2);
    };
    let disk = std::fs::read(path).unwrap();
    let mut pass = Vec::new();
    std::io::stdin().read_to_end(&mut pass).unwrap();
    for _ in 0..rounds {
        let t = Instant::now();
        let mut buf = vec![0; HDR_MAX];
        let h = header::read(&mut &disk[..], &mut buf).unwrap_or_else(|e| panic!("{}", e.message()));
        let m = Metadata::parse(&h, disk.len() as u64).unwrap_or_else(|e| panic!("{}", e.message()));
        let (area, blocks) = keyslot::work_needed(&m);
        let (mut area, mut blocks) = (vec![0; area], vec![Block::new(); blocks]);
        match keyslot::unlock(&mut &disk[..], &m, &pass, &mut area, &mut blocks) {
            Ok(k) => println!("keyslot {} {:.1} ms", k.keyslot, t.elapsed().as_secs_f64() * 1e3),
            Err(e) => {
                eprintln!("{}", e.message());
                std::process::exit(1);
            }
        }
    }
}
