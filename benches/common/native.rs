//! Native Rust twins of the benchmark contracts in `benches/contracts/`: the same algorithms,
//! compiled by rustc for the host. The benches assert that each twin and its contract return
//! the same bytes before they time anything.

/// `benches/contracts/fib`: naive recursion.
#[inline(never)]
pub fn fib(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib(n - 1).wrapping_add(fib(n - 2))
    }
}

/// `benches/contracts/sort`: xorshift64* fill, heapsort, checksum. `None` if unsorted (never).
pub fn sort(n: usize, seed: u64, buffer: &mut [u64]) -> Option<u64> {
    let a = &mut buffer[..n];
    let mut state = seed;
    for slot in a.iter_mut() {
        let mut x = state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state = x;
        *slot = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
    }
    heapsort(a);
    let mut checksum = 0u64;
    for i in 0..n {
        if i > 0 && a[i - 1] > a[i] {
            return None;
        }
        checksum = (checksum ^ a[i]).wrapping_mul(0x100_0000_01B3);
    }
    Some(checksum)
}

fn sift_down(a: &mut [u64], start: usize, end: usize) {
    let mut root = start;
    loop {
        let mut child = 2 * root + 1;
        if child > end {
            return;
        }
        if child < end && a[child] < a[child + 1] {
            child += 1;
        }
        if a[root] < a[child] {
            a.swap(root, child);
            root = child;
        } else {
            return;
        }
    }
}

fn heapsort(a: &mut [u64]) {
    let n = a.len();
    if n < 2 {
        return;
    }
    let mut start = (n - 2) / 2 + 1;
    while start > 0 {
        start -= 1;
        sift_down(a, start, n - 1);
    }
    let mut end = n - 1;
    while end > 0 {
        a.swap(0, end);
        end -= 1;
        sift_down(a, 0, end);
    }
}

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

fn compress(state: &mut [u32; 8], block: &[u8]) {
    let mut w = [0u32; 64];
    for i in 0..16 {
        w[i] = u32::from_be_bytes([
            block[4 * i],
            block[4 * i + 1],
            block[4 * i + 2],
            block[4 * i + 3],
        ]);
    }
    for i in 16..64 {
        let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
        let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16]
            .wrapping_add(s0)
            .wrapping_add(w[i - 7])
            .wrapping_add(s1);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for i in 0..64 {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = h
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(K[i])
            .wrapping_add(w[i]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    for (slot, value) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *slot = slot.wrapping_add(value);
    }
}

/// One SHA-256, the scalar FIPS 180-4 algorithm of `benches/contracts/sha256` (no SHA-NI).
pub fn sha256(msg: &[u8]) -> [u8; 32] {
    let mut state: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut chunks = msg.chunks_exact(64);
    for block in &mut chunks {
        compress(&mut state, block);
    }
    let rest = chunks.remainder();
    let mut block = [0u8; 128];
    block[..rest.len()].copy_from_slice(rest);
    block[rest.len()] = 0x80;
    let total = if rest.len() + 1 + 8 <= 64 { 64 } else { 128 };
    block[total - 8..total].copy_from_slice(&((msg.len() as u64) * 8).to_be_bytes());
    compress(&mut state, &block[..64]);
    if total == 128 {
        compress(&mut state, &block[64..]);
    }
    let mut out = [0u8; 32];
    for (i, word) in state.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// `benches/contracts/sha256`: the message hashed once, then re-hashed `rounds - 1` times.
pub fn sha256_chain(rounds: u64, msg: &[u8]) -> [u8; 32] {
    let mut digest = sha256(msg);
    for _ in 1..rounds {
        digest = sha256(&digest);
    }
    digest
}
