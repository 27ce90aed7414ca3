//! The kernel's own counters of a network device, from `/proc/self/net/dev`
//! (the calling thread's network namespace): what egd's counters cannot
//! see, such as frames the kernel dropped because a tap queue was full
//! before egd read them.
//!
//! Reading it is a file read and a parse, so call it once per metrics
//! period, not per packet.

use std::io;

/// The counters of one device that say where packets were lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceDrops {
    /// `rx_dropped`: for a tap, frames egd wrote that the kernel dropped.
    pub rx_dropped: u64,
    /// `tx_dropped`: for a tap, frames the kernel had for egd but dropped,
    /// because the queue (`txqueuelen` frames) was full.
    pub tx_dropped: u64,
}

/// The drop counters of device `name` in this thread's namespace.
pub fn device_drops(name: &str) -> io::Result<DeviceDrops> {
    let text = std::fs::read_to_string("/proc/self/net/dev")?;
    parse(&text, name).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{name} not in /proc/self/net/dev"),
        )
    })
}

/// Finds `name`'s line: `name: rx_bytes rx_packets rx_errs rx_drop … (8
/// receive fields) tx_bytes tx_packets tx_errs tx_drop …`.
fn parse(text: &str, name: &str) -> Option<DeviceDrops> {
    text.lines().find_map(|line| {
        let (dev, fields) = line.split_once(':')?;
        if dev.trim() != name {
            return None;
        }
        let mut n = fields.split_whitespace().map(|f| f.parse::<u64>().ok());
        let rx_dropped = n.nth(3)??;
        let tx_dropped = n.nth(7)??;
        Some(DeviceDrops {
            rx_dropped,
            tx_dropped,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1234      10    0    0    0     0          0         0     1234      10    0    0    0     0       0          0
egd-tap0: 5550000   60000    1    2    0     0          0         7 47000000  741267    3 405778    0     0       0          0
";

    #[test]
    fn finds_the_device_and_its_drop_columns() {
        assert_eq!(
            parse(SAMPLE, "egd-tap0"),
            Some(DeviceDrops {
                rx_dropped: 2,
                tx_dropped: 405_778
            })
        );
        assert_eq!(parse(SAMPLE, "lo"), Some(DeviceDrops::default()));
        assert_eq!(parse(SAMPLE, "egd-tap"), None);
        assert_eq!(parse("x: 1 2", "x"), None, "a short line is no answer");
    }

    #[test]
    fn reads_this_namespace() {
        // Every namespace has `lo`.
        assert!(device_drops("lo").is_ok());
        assert!(device_drops("no-such-device-9").is_err());
    }
}
