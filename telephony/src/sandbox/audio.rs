//! Recording audio for the sandbox: a real, playable 8 kHz mono 16-bit PCM WAV file.

/// A WAV of `seconds` (capped at 30) with a gentle two-tone pattern, so players show real audio.
pub fn wav(seconds: u32) -> Vec<u8> {
    const RATE: u32 = 8000;
    let seconds = seconds.clamp(1, 30);
    let samples = RATE * seconds;
    let data_len = samples * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..samples {
        let t = i as f64 / RATE as f64;
        // Alternate 440 Hz and 660 Hz every half second, at moderate volume.
        let freq = if ((t * 2.0) as u64).is_multiple_of(2) {
            440.0
        } else {
            660.0
        };
        let v = (t * freq * std::f64::consts::TAU).sin() * 0.3 * i16::MAX as f64;
        out.extend_from_slice(&(v as i16).to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_file_is_a_well_formed_wav() {
        let w = super::wav(2);
        assert_eq!(&w[0..4], b"RIFF");
        assert_eq!(&w[8..12], b"WAVE");
        assert_eq!(
            u32::from_le_bytes(w[4..8].try_into().unwrap()) as usize,
            w.len() - 8
        );
        assert_eq!(w.len(), 44 + 8000 * 2 * 2);
        assert!(w[44..].iter().any(|b| *b != 0), "not silence");
    }
}
