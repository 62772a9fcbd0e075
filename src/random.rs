//! Random bytes from the operating system's CSPRNG, for every secret we mint.

use rand::TryRng;
use rand::rngs::SysRng;

/// `N` bytes straight from the OS. Failing to read the OS generator is not recoverable
/// in any meaningful way, but it is reported rather than panicking mid-request.
pub fn os_random<const N: usize>() -> Result<[u8; N], anyhow::Error> {
    let mut bytes = [0u8; N];
    SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| anyhow::anyhow!("the OS random number generator failed: {e}"))?;
    Ok(bytes)
}

/// A URL-safe random string carrying 256 bits (session keys, CSRF and setup tokens).
pub fn token_256() -> Result<String, anyhow::Error> {
    use base64::Engine;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(os_random::<32>()?))
}

/// SHA-256 digest, the form in which we store high-entropy random values.
pub fn sha256(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}
