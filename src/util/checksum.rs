//! CRC-32 (IEEE, as zlib computes it): the model hash, the frame check of the serial
//! protocol, and the identity of training files.

/// CRC-32 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_is_the_zlib_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
