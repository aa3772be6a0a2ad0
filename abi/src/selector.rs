//! Method selectors of the contract interface (docs/interface.md): the first 4 bytes of
//! `sha256("tos.method:" ++ name)`, read little-endian. A `const fn` over a small SHA-256 so
//! the SDK's proc macro, host-side clients and tools compute the same number without a hash
//! crate (tos-abi stays dependency-free and builds inside contracts).

/// Prefix hashed before a method's name.
pub const SELECTOR_DOMAIN: &str = "tos.method:";

/// The selector of the method `name`: the first 4 bytes, read little-endian, of
/// `sha256("tos.method:" ++ name)`. A call's input starts with it (4 bytes, little-endian).
///
/// ```
/// // sha256("tos.method:transfer") starts with these four bytes.
/// let s = tos_abi::method_selector("transfer");
/// assert_eq!(s.to_le_bytes(), tos_abi::sha256(b"tos.method:transfer")[..4]);
/// ```
pub const fn method_selector(name: &str) -> u32 {
    let prefix = SELECTOR_DOMAIN.as_bytes();
    let name = name.as_bytes();
    let digest = sha256_parts(prefix, name);
    u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// SHA-256 of `data` (FIPS 180-4), usable in constants.
pub const fn sha256(data: &[u8]) -> [u8; 32] {
    sha256_parts(data, &[])
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

/// SHA-256 of `a ++ b` without concatenating them (no allocation in a `const fn`).
const fn sha256_parts(a: &[u8], b: &[u8]) -> [u8; 32] {
    let mut state: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let len = a.len() + b.len();
    // Message, 0x80, zeros, 64-bit big-endian bit length: a whole number of 64-byte blocks.
    let padded = (len + 9).div_ceil(64) * 64;
    let bit_len = (len as u64).wrapping_mul(8).to_be_bytes();
    let mut block = [0u8; 64];
    let mut i = 0;
    while i < padded {
        let byte = if i < a.len() {
            a[i]
        } else if i < len {
            b[i - a.len()]
        } else if i == len {
            0x80
        } else if i >= padded - 8 {
            bit_len[i - (padded - 8)]
        } else {
            0
        };
        block[i % 64] = byte;
        if i % 64 == 63 {
            state = compress(state, &block);
        }
        i += 1;
    }
    let mut out = [0u8; 32];
    let mut w = 0;
    while w < 8 {
        let bytes = state[w].to_be_bytes();
        out[w * 4] = bytes[0];
        out[w * 4 + 1] = bytes[1];
        out[w * 4 + 2] = bytes[2];
        out[w * 4 + 3] = bytes[3];
        w += 1;
    }
    out
}

const fn compress(state: [u32; 8], block: &[u8; 64]) -> [u32; 8] {
    let mut w = [0u32; 64];
    let mut t = 0;
    while t < 16 {
        w[t] = u32::from_be_bytes([
            block[4 * t],
            block[4 * t + 1],
            block[4 * t + 2],
            block[4 * t + 3],
        ]);
        t += 1;
    }
    while t < 64 {
        let s0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
        let s1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16]
            .wrapping_add(s0)
            .wrapping_add(w[t - 7])
            .wrapping_add(s1);
        t += 1;
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = state;
    t = 0;
    while t < 64 {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = h
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(K[t])
            .wrapping_add(w[t]);
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
        t += 1;
    }
    [
        state[0].wrapping_add(a),
        state[1].wrapping_add(b),
        state[2].wrapping_add(c),
        state[3].wrapping_add(d),
        state[4].wrapping_add(e),
        state[5].wrapping_add(f),
        state[6].wrapping_add(g),
        state[7].wrapping_add(h),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> [u8; 64] {
        let digits = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in bytes.iter().enumerate() {
            out[2 * i] = digits[usize::from(b >> 4)];
            out[2 * i + 1] = digits[usize::from(b & 15)];
        }
        out
    }

    /// FIPS 180-4 / NIST test vectors, including the two- and one-block padding edges.
    #[test]
    fn sha256_matches_the_standard_vectors() {
        let cases: [(&[u8], &str); 4] = [
            (
                b"",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                b"abc",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ),
            (
                b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
            ),
        ];
        for (data, expected) in cases {
            assert_eq!(&hex(&sha256(data)), expected.as_bytes());
        }
        // 55, 56 and 64 bytes: the length field fits, just misses, or needs a new block.
        let a55 = sha256_parts(&[b'a'; 55], &[]);
        assert_eq!(
            &hex(&a55),
            b"9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"
        );
        assert_eq!(
            &hex(&sha256(&[b'a'; 56])),
            b"b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"
        );
        assert_eq!(
            &hex(&sha256(&[b'a'; 64])),
            b"ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"
        );
    }

    #[test]
    fn split_input_hashes_like_the_concatenation() {
        let whole = sha256(b"tos.method:balance_of");
        assert_eq!(sha256_parts(b"tos.method:", b"balance_of"), whole);
        assert_eq!(
            method_selector("balance_of"),
            u32::from_le_bytes([whole[0], whole[1], whole[2], whole[3]])
        );
        assert_ne!(method_selector("transfer"), method_selector("transfer_"));
    }
}
