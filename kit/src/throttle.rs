//! Throttling of failed secret-token attempts per client address: the verifier's API token
//! (its API and its desk's sign-in) and the issuer's admin token. After
//! [`Throttle::max_failures`] failures from one address within [`Throttle::window`]
//! seconds of its first failure, every attempt from that address, right or wrong, is
//! refused until the window ends, with the seconds left for `Retry-After` (RFC 9110
//! §10.2.3; status 429, RFC 6585 §4). A success before that clears the address's count.
//! Other addresses are not affected.
//!
//! Deliberately simple: **in memory, per instance**. Several instances behind a load
//! balancer each allow that many failures per window (still a bound: the tokens are 192
//! random bits), and a restart forgets the counts. The address is the TCP peer's: behind
//! a reverse proxy it is the proxy's, and everyone behind it shares one count. IPv6
//! clients are counted per /64, which one host usually holds whole. The table holds at
//! most [`MAX_CLIENTS`] addresses: when it is full, finished windows are dropped first,
//! then the oldest.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;

/// The most addresses tracked at once.
pub const MAX_CLIENTS: usize = 10_000;

/// An address is refused until its window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed token attempts from this address: retry in {retry_after} s")]
pub struct Throttled {
    /// Seconds until the window ends (at least 1): the `Retry-After` value.
    pub retry_after: i64,
}

/// One address's failures in its current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// When the first failure of the window happened (seconds).
    started: i64,
    failures: u32,
}

/// Failed-attempt counts per client address (see the module documentation).
#[derive(Debug)]
pub struct Throttle {
    max_failures: u32,
    window: i64,
    clients: Mutex<HashMap<IpAddr, Window>>,
}

impl Throttle {
    /// `max_failures` failures per `window` seconds per address.
    pub fn new(max_failures: u32, window: i64) -> Throttle {
        Throttle {
            max_failures: max_failures.max(1),
            window: window.max(1),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Failures an address may make per window.
    pub fn max_failures(&self) -> u32 {
        self.max_failures
    }

    /// Seconds a window lasts, counted from its first failure.
    pub fn window(&self) -> i64 {
        self.window
    }

    /// Whether `client` may try a token at `now`. `None` (no peer address known, e.g. a
    /// router called in-process) is counted as one client.
    pub fn check(&self, client: Option<IpAddr>, now: i64) -> Result<(), Throttled> {
        let key = key(client);
        let clients = self.lock();
        match clients.get(&key) {
            Some(w) if w.failures >= self.max_failures && now < w.started + self.window => {
                Err(Throttled {
                    retry_after: (w.started + self.window - now).max(1),
                })
            }
            _ => Ok(()),
        }
    }

    /// Records a failed attempt by `client` at `now`.
    pub fn failed(&self, client: Option<IpAddr>, now: i64) {
        let key = key(client);
        let mut clients = self.lock();
        if !clients.contains_key(&key) && clients.len() >= MAX_CLIENTS {
            let window = self.window;
            clients.retain(|_, w| now < w.started + window);
            if clients.len() >= MAX_CLIENTS
                && let Some(oldest) = clients
                    .iter()
                    .min_by_key(|(_, w)| w.started)
                    .map(|(k, _)| *k)
            {
                clients.remove(&oldest);
            }
        }
        let w = clients.entry(key).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now >= w.started + self.window {
            *w = Window {
                started: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
    }

    /// Records a successful attempt: the address's count starts again.
    pub fn succeeded(&self, client: Option<IpAddr>) {
        self.lock().remove(&key(client));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Window>> {
        // A panic while holding the lock leaves only counts behind: keep using them.
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The counted address: IPv4 as is (IPv4-mapped IPv6 as IPv4), IPv6 by its /64.
fn key(client: Option<IpAddr>) -> IpAddr {
    match client {
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Some(IpAddr::V4(ip)) => IpAddr::V4(ip),
        Some(IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(ip) & (u128::MAX << 64);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_address_is_refused_after_its_failures_until_the_window_ends() {
        let t = Throttle::new(3, 600);
        let a = ip("192.0.2.1");
        for n in 0..3 {
            assert_eq!(t.check(a, 1000 + n), Ok(()));
            t.failed(a, 1000 + n);
        }
        assert_eq!(t.check(a, 1003), Err(Throttled { retry_after: 597 }));
        // Another address is not affected.
        assert_eq!(t.check(ip("192.0.2.2"), 1003), Ok(()));
        // The window passes.
        assert_eq!(t.check(a, 1599), Err(Throttled { retry_after: 1 }));
        assert_eq!(t.check(a, 1600), Ok(()));
        t.failed(a, 1600);
        assert_eq!(t.check(a, 1601), Ok(()), "a new window starts");
    }

    #[test]
    fn a_success_clears_the_count() {
        let t = Throttle::new(2, 600);
        let a = ip("192.0.2.1");
        t.failed(a, 0);
        t.succeeded(a);
        t.failed(a, 1);
        assert_eq!(t.check(a, 2), Ok(()));
    }

    #[test]
    fn ipv6_is_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let t = Throttle::new(2, 600);
        t.failed(ip("2001:db8:1:2::1"), 0);
        t.failed(ip("2001:db8:1:2::ffff"), 0);
        assert!(t.check(ip("2001:db8:1:2:aaaa::"), 1).is_err());
        assert_eq!(t.check(ip("2001:db8:1:3::1"), 1), Ok(()));
        t.failed(ip("::ffff:192.0.2.9"), 0);
        t.failed(ip("192.0.2.9"), 0);
        assert!(t.check(ip("192.0.2.9"), 1).is_err());
    }

    #[test]
    fn the_table_is_bounded() {
        let t = Throttle::new(1, 600);
        for n in 0..(MAX_CLIENTS as u32 + 5) {
            t.failed(Some(IpAddr::V4(Ipv4Addr::from(n))), i64::from(n));
        }
        assert!(t.lock().len() <= MAX_CLIENTS);
        // The newest is still refused.
        let newest = Some(IpAddr::V4(Ipv4Addr::from(MAX_CLIENTS as u32 + 4)));
        assert!(t.check(newest, MAX_CLIENTS as i64 + 5).is_err());
    }
}
