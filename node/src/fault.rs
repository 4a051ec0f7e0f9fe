//! Fault injection for local testnets: a switch that cuts this node off from its peers.
//!
//! Compiled in only with the `fault-injection` feature (the CLI's testnet builds turn it on; a
//! production build leaves it out): without it the switch is a zero-sized type whose
//! [`FaultSwitch::is_isolated`] is always false, so the transport's checks compile away and no
//! route can set it.

/// Whether this node is cut off from its peers. Clones share the switch.
#[derive(Clone, Debug, Default)]
pub struct FaultSwitch {
    #[cfg(feature = "fault-injection")]
    isolated: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FaultSwitch {
    /// Whether the switch cuts this node off from its peers.
    #[inline]
    pub fn is_isolated(&self) -> bool {
        #[cfg(feature = "fault-injection")]
        return self.isolated.load(std::sync::atomic::Ordering::Relaxed);
        #[cfg(not(feature = "fault-injection"))]
        false
    }

    /// Cuts this node off from its peers, or reconnects it.
    #[cfg(feature = "fault-injection")]
    pub fn set_isolated(&self, isolated: bool) {
        self.isolated
            .store(isolated, std::sync::atomic::Ordering::Relaxed);
    }
}
