//! A ZIP archive of stored (uncompressed) files, written in memory: what an export of a
//! number's data is downloaded as. Every unzip tool reads it; the audio inside is compressed
//! already and the JSON and CSV are small. Sizes stay far below the 4 GiB of classic ZIP (the
//! caller bounds them).

/// Files added in order, then `finish` for the archive's bytes.
#[derive(Default)]
pub struct ZipWriter {
    out: Vec<u8>,
    central: Vec<u8>,
    files: u16,
}

/// 1980-01-01 00:00 in MS-DOS time and date: no file in an export has a meaningful time.
const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = (1 << 5) | 1;

impl ZipWriter {
    /// Adds `name` (a relative path with `/`, UTF-8) holding `data`.
    pub fn add(&mut self, name: &str, data: &[u8]) {
        let crc = crc32fast::hash(data);
        let size = data.len() as u32;
        let offset = self.out.len() as u32;
        let name = name.as_bytes();
        // Local file header: version 2.0, the UTF-8 name flag, stored.
        put32(&mut self.out, 0x0403_4b50);
        for v in [20u16, 1 << 11, 0, DOS_TIME, DOS_DATE] {
            put16(&mut self.out, v);
        }
        for v in [crc, size, size] {
            put32(&mut self.out, v);
        }
        put16(&mut self.out, name.len() as u16);
        put16(&mut self.out, 0);
        self.out.extend_from_slice(name);
        self.out.extend_from_slice(data);
        // Its central directory entry.
        put32(&mut self.central, 0x0201_4b50);
        for v in [20u16, 20, 1 << 11, 0, DOS_TIME, DOS_DATE] {
            put16(&mut self.central, v);
        }
        for v in [crc, size, size] {
            put32(&mut self.central, v);
        }
        for v in [name.len() as u16, 0, 0, 0, 0] {
            put16(&mut self.central, v);
        }
        put32(&mut self.central, 0);
        put32(&mut self.central, offset);
        self.central.extend_from_slice(name);
        self.files += 1;
    }

    /// The archive: the files, the central directory and its end record.
    pub fn finish(mut self) -> Vec<u8> {
        let at = self.out.len() as u32;
        let len = self.central.len() as u32;
        self.out.extend_from_slice(&self.central);
        put32(&mut self.out, 0x0605_4b50);
        for v in [0u16, 0, self.files, self.files] {
            put16(&mut self.out, v);
        }
        put32(&mut self.out, len);
        put32(&mut self.out, at);
        put16(&mut self.out, 0);
        self.out
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.out.len() + self.central.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files == 0
    }
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archive_lists_its_files_with_their_checksums() {
        let mut z = ZipWriter::default();
        z.add("data.json", b"{\"a\":1}");
        z.add("recordings/r1.mp3", b"ID3....");
        let bytes = z.finish();
        assert!(bytes.starts_with(b"PK\x03\x04"));
        // The end record names two files and where the directory starts.
        let end = &bytes[bytes.len() - 22..];
        assert_eq!(&end[..4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([end[10], end[11]]), 2);
        let dir = u32::from_le_bytes([end[16], end[17], end[18], end[19]]) as usize;
        assert_eq!(&bytes[dir..dir + 4], b"PK\x01\x02");
        let crc = u32::from_le_bytes([bytes[14], bytes[15], bytes[16], bytes[17]]);
        assert_eq!(crc, crc32fast::hash(b"{\"a\":1}"));
    }
}
