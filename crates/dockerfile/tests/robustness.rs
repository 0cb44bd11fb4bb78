//! Hostile Dockerfiles: many thousands of mutations of real-looking files (bytes inserted,
//! removed and replaced with the characters the grammar cares about) go through the
//! parser, the planner and the checks. Each must give a result or an error, never a
//! panic, and quickly. (A stand-in until the coverage-guided fuzz targets of issue 17.)

use dockerfile::build::{plan, BuildOptions, NoImages};
use dockerfile::checks::check;
use dockerfile::Dockerfile;

const SEEDS: &[&str] = &[
    "# syntax=docker/dockerfile:1\n# escape=\\\nARG BASE=busybox\nFROM ${BASE:-alpine} AS build\nENV A=1 B=\"two words\" C=${A:+set}\nWORKDIR /src\nCOPY --chown=1:1 --chmod=644 a* ./\nRUN --mount=type=cache,target=/c,id=x echo $A \\\n  && echo ${B%words} ${C/s/t}\nRUN <<EOF\necho hi\nEOF\nFROM scratch\nCOPY --from=build /src /\nCMD [\"/app\", \"x\"]\nHEALTHCHECK --interval=5s CMD true\nONBUILD RUN echo x\nEXPOSE 80/tcp 90-92\nLABEL a=b \"c d\"=e\nSTOPSIGNAL SIGTERM\nSHELL [\"/bin/sh\", \"-c\"]\nUSER 1:1\nVOLUME /data\n",
    "# escape=`\nFROM mcr/windows\nRUN dir `\n  c:\\\nCOPY <<-EOT /x\n\tindented\n\tEOT\nADD --checksum=sha256:00 https://x/y /z\nENTRYPOINT exec app\nMAINTAINER me\n",
    "FROM a AS one\nFROM one AS two\nCOPY --from=0 /a /b\nRUN --network=none --security=insecure true\nARG X\nRUN echo ${X:?need x}\nFROM two\n",
];

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&str] = &[
    "\\",
    "`",
    "$",
    "${",
    "}",
    "{",
    ":-",
    ":+",
    "?",
    "#",
    "%",
    "/",
    "'",
    "\"",
    "\n",
    "\r\n",
    "<<",
    "<<-",
    "EOF",
    "[",
    "]",
    ",",
    "=",
    "--",
    " ",
    "\t",
    "\u{feff}",
    "é",
    "\0",
    "AS ",
    "FROM ",
    "RUN ",
    "COPY ",
    "ONBUILD ",
    "ARG ",
    "--mount=",
    "type=secret",
    "*",
    "..",
];

fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut v: Vec<char> = s.chars().collect();
    for _ in 0..=rng.below(8) {
        let at = rng.below(v.len() + 1);
        match rng.below(3) {
            0 => {
                let ins: Vec<char> = INTERESTING[rng.below(INTERESTING.len())].chars().collect();
                v.splice(at..at, ins);
            }
            1 if !v.is_empty() => {
                let end = (at + rng.below(6)).min(v.len());
                let start = at.min(end);
                v.drain(start..end);
            }
            _ if at < v.len() => {
                let c = INTERESTING[rng.below(INTERESTING.len())]
                    .chars()
                    .next()
                    .unwrap_or('x');
                v[at] = c;
            }
            _ => {}
        }
    }
    v.into_iter().collect()
}

#[test]
fn mutated_dockerfiles_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = std::time::Instant::now();
    let mut parsed = 0;
    for i in 0..20000 {
        let seed = SEEDS[i % SEEDS.len()];
        let text = mutate(&mut rng, seed);
        if let Ok(df) = Dockerfile::parse(&text) {
            parsed += 1;
            let _ = plan(&df, &BuildOptions::default(), &NoImages);
        }
        let _ = check(&text, &BuildOptions::default(), &NoImages);
    }
    assert!(
        parsed > 100,
        "the mutations should not all be refused: {parsed}"
    );
    assert!(
        started.elapsed().as_secs() < 60,
        "too slow: {:?}",
        started.elapsed()
    );
}
