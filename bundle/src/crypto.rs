//! The cryptographic building blocks of the format: RSA keys from PEM,
//! RSA-SHA1 signatures, RSA PKCS#1 v1.5 encryption of the AES key and IV as
//! hex text, and AES-128-CBC with PKCS#7 padding as streams.

use std::io::{self, Read, Write};

use aes::Aes128;
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{Pkcs1v15Encrypt, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha1::{Digest, Sha1};

use crate::error::{BundleError, Result, crypto, malformed};

const BLOCK: usize = 16;

/// An AES-128 key or IV: 128 bits.
pub type Aes128Bytes = [u8; 16];

/// Reads an RSA private key from PEM, PKCS#8 (`PRIVATE KEY`) or PKCS#1
/// (`RSA PRIVATE KEY`, what `openssl genrsa` wrote for years).
pub fn private_key_from_pem(pem: &str) -> Result<RsaPrivateKey> {
    RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|e| crypto(format_args!("not an RSA private key in PEM: {e}")))
}

/// The RSA public key inside a PEM X.509 certificate.
pub fn public_key_from_certificate_pem(pem: &str) -> Result<RsaPublicKey> {
    let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| crypto(format_args!("not a PEM certificate: {e}")))?;
    let cert = parsed.parse_x509().map_err(|e| crypto(format_args!("not an X.509 certificate: {e}")))?;
    RsaPublicKey::from_public_key_der(cert.tbs_certificate.subject_pki.raw)
        .map_err(|e| crypto(format_args!("the certificate's key is not RSA: {e}")))
}

/// RSA-SHA1, PKCS#1 v1.5: what `openssl pkeyutl -sign -pkeyopt digest:sha1`
/// makes of a SHA1 digest.
pub(crate) fn sign_sha1(key: &RsaPrivateKey, message: &[u8]) -> Result<Vec<u8>> {
    let digest = Sha1::digest(message);
    key.sign(Pkcs1v15Sign::new::<Sha1>(), &digest).map_err(crypto)
}

pub(crate) fn verify_sha1(key: &RsaPublicKey, message: &[u8], signature: &[u8]) -> Result<()> {
    let digest = Sha1::digest(message);
    key.verify(Pkcs1v15Sign::new::<Sha1>(), &digest, signature).map_err(|_| BundleError::BadSignature)
}

/// Encrypts a key or IV the way euca2ools does: its 32 lower-case hex
/// characters, as text, RSA PKCS#1 v1.5, and the result hex-encoded.
pub fn encrypt_hex_text(recipient: &RsaPublicKey, value: &Aes128Bytes) -> Result<String> {
    let text = hex::encode(value);
    let sealed =
        recipient.encrypt(&mut rand::rngs::OsRng, Pkcs1v15Encrypt, text.as_bytes()).map_err(crypto)?;
    Ok(hex::encode(sealed))
}

/// The inverse of [`encrypt_hex_text`]. `what` names the field in errors.
pub fn decrypt_hex_text(key: &RsaPrivateKey, sealed_hex: &str, what: &str) -> Result<Aes128Bytes> {
    let sealed = hex::decode(sealed_hex.trim()).map_err(|_| malformed(format!("{what} is not hex")))?;
    let text = key
        .decrypt(Pkcs1v15Encrypt, &sealed)
        .map_err(|_| crypto(format_args!("cannot decrypt {what} with this private key")))?;
    let text = std::str::from_utf8(&text)
        .map_err(|_| crypto(format_args!("{what} does not decrypt to hex text")))?;
    let mut out = [0u8; 16];
    hex::decode_to_slice(text.trim(), &mut out)
        .map_err(|_| crypto(format_args!("{what} does not decrypt to 32 hex characters")))?;
    Ok(out)
}

/// AES-128-CBC encryption with PKCS#7 padding as a writer, what
/// `openssl enc -e -aes-128-cbc -K .. -iv ..` does to a pipe. Call
/// [`CbcWriter::finish`]; dropping it loses the last block.
pub(crate) struct CbcWriter<W: Write> {
    inner: W,
    cipher: cbc::Encryptor<Aes128>,
    pending: Vec<u8>,
}

impl<W: Write> CbcWriter<W> {
    pub(crate) fn new(inner: W, key: &Aes128Bytes, iv: &Aes128Bytes) -> Self {
        Self {
            inner,
            cipher: cbc::Encryptor::<Aes128>::new(key.into(), iv.into()),
            pending: Vec::with_capacity(64 * 1024),
        }
    }

    fn encrypt_whole_blocks(&mut self) -> io::Result<()> {
        let whole = self.pending.len() - self.pending.len() % BLOCK;
        for block in self.pending[..whole].chunks_exact_mut(BLOCK) {
            self.cipher.encrypt_block_mut(GenericArray::from_mut_slice(block));
        }
        self.inner.write_all(&self.pending[..whole])?;
        self.pending.drain(..whole);
        Ok(())
    }

    /// Pads, writes the last block and hands back the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        let pad = BLOCK - self.pending.len() % BLOCK;
        let pad_byte = u8::try_from(pad).unwrap_or(16);
        self.pending.extend(std::iter::repeat_n(pad_byte, pad));
        self.encrypt_whole_blocks()?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for CbcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= 64 * 1024 {
            self.encrypt_whole_blocks()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// AES-128-CBC decryption as a reader. The last block is held back until the
/// end of the input so that its PKCS#7 padding can be checked and removed; a
/// bad length or padding is an `InvalidData` error at the end.
pub(crate) struct CbcReader<R: Read> {
    inner: R,
    cipher: cbc::Decryptor<Aes128>,
    cipher_text: Vec<u8>,
    plain: Vec<u8>,
    plain_at: usize,
    done: bool,
}

impl<R: Read> CbcReader<R> {
    pub(crate) fn new(inner: R, key: &Aes128Bytes, iv: &Aes128Bytes) -> Self {
        Self {
            inner,
            cipher: cbc::Decryptor::<Aes128>::new(key.into(), iv.into()),
            cipher_text: Vec::with_capacity(64 * 1024 + BLOCK),
            plain: Vec::new(),
            plain_at: 0,
            done: false,
        }
    }

    /// Decrypts the first `len` bytes of `cipher_text` into `plain`.
    fn decrypt_front(&mut self, len: usize) {
        self.plain.clear();
        self.plain_at = 0;
        self.plain.extend(self.cipher_text.drain(..len));
        for block in self.plain.chunks_exact_mut(BLOCK) {
            self.cipher.decrypt_block_mut(GenericArray::from_mut_slice(block));
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 64 * 1024];
        while self.plain_at == self.plain.len() && !self.done {
            let n = self.inner.read(&mut chunk)?;
            if n == 0 {
                self.done = true;
                if self.cipher_text.len() != BLOCK {
                    return Err(invalid_data("encrypted image is not a whole number of AES blocks"));
                }
                self.decrypt_front(BLOCK);
                let pad = usize::from(self.plain[BLOCK - 1]);
                let padding_ok = (1..=BLOCK).contains(&pad)
                    && self.plain[BLOCK - pad..].iter().all(|&b| usize::from(b) == pad);
                if !padding_ok {
                    return Err(invalid_data(
                        "bad padding at the end of the encrypted image (wrong key or IV?)",
                    ));
                }
                self.plain.truncate(BLOCK - pad);
                return Ok(());
            }
            self.cipher_text.extend_from_slice(&chunk[..n]);
            // Every block but the one that may be the last can be decrypted.
            let ready = (self.cipher_text.len() - 1) / BLOCK * BLOCK;
            if ready > 0 {
                self.decrypt_front(ready);
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for CbcReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.plain_at == self.plain.len() {
            self.refill()?;
        }
        let available = &self.plain[self.plain_at..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.plain_at += n;
        Ok(n)
    }
}

fn invalid_data(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// Passes bytes through and hashes them (SHA1) and counts them on the way.
pub(crate) struct Sha1Tee<T> {
    pub(crate) inner: T,
    pub(crate) hasher: Sha1,
    pub(crate) count: u64,
}

impl<T> Sha1Tee<T> {
    pub(crate) fn new(inner: T) -> Self {
        Self { inner, hasher: Sha1::new(), count: 0 }
    }

    pub(crate) fn hex_digest(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

impl<W: Write> Write for Sha1Tee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Sha1Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encrypt_all(data: &[u8], key: &Aes128Bytes, iv: &Aes128Bytes) -> Vec<u8> {
        let mut writer = CbcWriter::new(Vec::new(), key, iv);
        // Uneven writes, to cross block boundaries.
        for chunk in data.chunks(7) {
            writer.write_all(chunk).unwrap();
        }
        writer.finish().unwrap()
    }

    /// A reader that hands out one byte at a time, to stress the hold-back.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    #[test]
    fn cbc_matches_a_known_openssl_vector() {
        // `printf 'hello' | openssl enc -e -aes-128-cbc -K 00..0f -iv 10..1f | xxd -p`
        let key: Aes128Bytes = core::array::from_fn(|i| i as u8);
        let iv: Aes128Bytes = core::array::from_fn(|i| 16 + i as u8);
        let sealed = encrypt_all(b"hello", &key, &iv);
        assert_eq!(sealed.len(), 16);
        let expected = std::process::Command::new("openssl")
            .args(["enc", "-e", "-aes-128-cbc", "-K", &hex::encode(key), "-iv", &hex::encode(iv)])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child.stdin.take().unwrap().write_all(b"hello")?;
                child.wait_with_output()
            });
        match expected {
            Ok(out) if out.status.success() => assert_eq!(sealed, out.stdout),
            _ => eprintln!("skipping the openssl comparison: openssl is not available"),
        }
    }

    proptest! {
        #[test]
        fn cbc_round_trips(data in proptest::collection::vec(any::<u8>(), 0..300), key: [u8; 16], iv: [u8; 16]) {
            let sealed = encrypt_all(&data, &key, &iv);
            prop_assert_eq!(sealed.len() % 16, 0);
            prop_assert!(sealed.len() > data.len());
            let mut opened = Vec::new();
            CbcReader::new(Trickle(&sealed), &key, &iv).read_to_end(&mut opened).unwrap();
            prop_assert_eq!(opened, data);
        }
    }

    #[test]
    fn truncated_cipher_text_is_an_error() {
        let key = [1u8; 16];
        let iv = [2u8; 16];
        let sealed = encrypt_all(&[9u8; 40], &key, &iv);
        let mut out = Vec::new();
        let cut = &sealed[..sealed.len() - 1];
        assert!(CbcReader::new(cut, &key, &iv).read_to_end(&mut out).is_err());
        let mut out = Vec::new();
        assert!(CbcReader::new(&[][..], &key, &iv).read_to_end(&mut out).is_err());
    }
}
