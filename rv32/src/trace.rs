//! A verify hook that records what it is shown (depth and role of each certificate, in
//! mbedTLS's order) into a fixed table: no allocation, shareable (`Send + Sync`).

use core::cell::RefCell;
use core::fmt;

use critical_section::Mutex;
use mbedtls_verify::verify::{Role, Verdict, VerifyHook};

const MAX: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Trace {
    calls: [(u32, Role); MAX],
    len: usize,
}

impl Trace {
    const EMPTY: Trace = Trace {
        calls: [(0, Role::Leaf); MAX],
        len: 0,
    };

    pub fn calls(&self) -> &[(u32, Role)] {
        &self.calls[..self.len]
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (depth, role)) in self.calls().iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}depth {depth} {role}")?;
        }
        Ok(())
    }
}

pub type Slot = Mutex<RefCell<Trace>>;

pub static OFFLINE: Slot = Mutex::new(RefCell::new(Trace::EMPTY));
pub static SERVER: Slot = Mutex::new(RefCell::new(Trace::EMPTY));
pub static CLIENT: Slot = Mutex::new(RefCell::new(Trace::EMPTY));

/// What mbedTLS shows for root -> issuing CA -> leaf: the top first.
pub const ROOT_ISSUING_LEAF: [(u32, Role); 3] = [
    (2, Role::TrustAnchor),
    (1, Role::Intermediate),
    (0, Role::Leaf),
];

/// A hook that accepts everything and records each call into `slot`.
pub fn recording_hook(slot: &'static Slot) -> VerifyHook {
    VerifyHook::new(move |call| {
        critical_section::with(|cs| {
            let mut t = slot.borrow_ref_mut(cs);
            if t.len < MAX {
                let i = t.len;
                t.calls[i] = (call.depth(), call.role());
                t.len += 1;
            }
        });
        Verdict::Accept
    })
}

pub fn clear(slot: &Slot) {
    critical_section::with(|cs| *slot.borrow_ref_mut(cs) = Trace::EMPTY);
}

pub fn get(slot: &Slot) -> Trace {
    critical_section::with(|cs| *slot.borrow_ref(cs))
}
