//! CPU core designs, named from the implementer and part numbers of `/proc/cpuinfo` (the MIDR
//! register's fields), and which of them are efficiency ("little") designs.

/// The core's name, e.g. `Cortex-A76` for implementer 0x41, part 0xd0b; `None` when unknown.
pub fn core_name(implementer: u32, part: u32) -> Option<&'static str> {
    Some(match (implementer, part) {
        // Arm Ltd.
        (0x41, 0xc07) => "Cortex-A7",
        (0x41, 0xc09) => "Cortex-A9",
        (0x41, 0xc0d) => "Cortex-A12",
        (0x41, 0xc0e) => "Cortex-A17",
        (0x41, 0xc0f) => "Cortex-A15",
        (0x41, 0xd01) => "Cortex-A32",
        (0x41, 0xd02) => "Cortex-A34",
        (0x41, 0xd03) => "Cortex-A53",
        (0x41, 0xd04) => "Cortex-A35",
        (0x41, 0xd05) => "Cortex-A55",
        (0x41, 0xd06) => "Cortex-A65",
        (0x41, 0xd07) => "Cortex-A57",
        (0x41, 0xd08) => "Cortex-A72",
        (0x41, 0xd09) => "Cortex-A73",
        (0x41, 0xd0a) => "Cortex-A75",
        (0x41, 0xd0b) => "Cortex-A76",
        (0x41, 0xd0c) => "Neoverse-N1",
        (0x41, 0xd0d) => "Cortex-A77",
        (0x41, 0xd0e) => "Cortex-A76AE",
        (0x41, 0xd40) => "Neoverse-V1",
        (0x41, 0xd41) => "Cortex-A78",
        (0x41, 0xd42) => "Cortex-A78AE",
        (0x41, 0xd43) => "Cortex-A65AE",
        (0x41, 0xd44) => "Cortex-X1",
        (0x41, 0xd46) => "Cortex-A510",
        (0x41, 0xd47) => "Cortex-A710",
        (0x41, 0xd48) => "Cortex-X2",
        (0x41, 0xd49) => "Neoverse-N2",
        (0x41, 0xd4a) => "Neoverse-E1",
        (0x41, 0xd4b) => "Cortex-A78C",
        (0x41, 0xd4c) => "Cortex-X1C",
        (0x41, 0xd4d) => "Cortex-A715",
        (0x41, 0xd4e) => "Cortex-X3",
        (0x41, 0xd4f) => "Neoverse-V2",
        (0x41, 0xd80) => "Cortex-A520",
        (0x41, 0xd81) => "Cortex-A720",
        (0x41, 0xd82) => "Cortex-X4",
        (0x41, 0xd84) => "Neoverse-V3",
        (0x41, 0xd85) => "Cortex-X925",
        (0x41, 0xd87) => "Cortex-A725",
        (0x41, 0xd8e) => "Neoverse-N3",
        // NVIDIA
        (0x4e, 0x003) => "Denver 2",
        (0x4e, 0x004) => "Carmel",
        // Qualcomm
        (0x51, 0x001) => "Oryon",
        (0x51, 0x800) => "Kryo 2xx Gold",
        (0x51, 0x801) => "Kryo 2xx Silver",
        (0x51, 0x802) => "Kryo 3xx Gold",
        (0x51, 0x803) => "Kryo 3xx Silver",
        (0x51, 0x804) => "Kryo 4xx Gold",
        (0x51, 0x805) => "Kryo 4xx Silver",
        (0x51, 0xc00) => "Falkor",
        // Apple (Linux on Apple silicon)
        (0x61, 0x022) => "Apple M1 Icestorm",
        (0x61, 0x023) => "Apple M1 Firestorm",
        (0x61, 0x032) => "Apple M2 Blizzard",
        (0x61, 0x033) => "Apple M2 Avalanche",
        _ => return None,
    })
}

/// Is this an efficiency ("little") core design?
pub fn is_efficiency_core(implementer: u32, part: u32) -> bool {
    matches!(
        (implementer, part),
        (
            0x41,
            0xc07 | 0xd01 | 0xd02 | 0xd03 | 0xd04 | 0xd05 | 0xd46 | 0xd80
        ) | (0x51, 0x801 | 0x803 | 0x805)
            | (0x61, 0x022 | 0x032)
    )
}

/// The core's name, or its numbers in hex when the design is not in the table.
pub fn display_name(implementer: Option<u32>, part: Option<u32>) -> String {
    match (implementer, part) {
        (Some(i), Some(p)) => match core_name(i, p) {
            Some(n) => n.to_string(),
            None => format!("unknown core (implementer {i:#04x}, part {p:#05x})"),
        },
        _ => "unknown core".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_known_parts_and_shows_unknown_ones_in_hex() {
        assert_eq!(core_name(0x41, 0xd08), Some("Cortex-A72"));
        assert_eq!(core_name(0x41, 0xd05), Some("Cortex-A55"));
        assert_eq!(core_name(0x41, 0xd82), Some("Cortex-X4"));
        assert!(is_efficiency_core(0x41, 0xd03));
        assert!(!is_efficiency_core(0x41, 0xd0b));
        assert_eq!(
            display_name(Some(0x41), Some(0xdff)),
            "unknown core (implementer 0x41, part 0xdff)"
        );
    }
}
