//! Which addresses vroom offers as ICE candidates, as Janus chooses them: every interface that
//! is up (loopback included, so one machine with no LAN still works), narrowed by
//! `ice_enforce_list` or `ice_ignore_list` (prefixes of interface names or addresses), and
//! rewritten by `nat_1_1_mapping` for a server behind a 1:1 NAT (keeping the private one too
//! with `keep_private_host`). The media socket listens on the wildcard address and learns from
//! each datagram which of these it was sent to, so replies leave from the same address.
//!
//! What the ICE stack is told is the *advertised* address: a datagram that reached a private
//! address behind the NAT is fed to it as if it reached the public one, and what it sends from
//! the public one leaves from the private one. [`Addresses`] holds both directions.

use std::net::IpAddr;

/// How to choose the addresses (the `[media]` settings that decide them).
#[derive(Clone, Debug, Default)]
pub struct AddressRules {
    /// Use only interfaces whose name or address starts with one of these.
    pub enforce: Vec<String>,
    /// Skip interfaces whose name or address starts with one of these (unused if `enforce`
    /// is set, as in Janus).
    pub ignore: Vec<String>,
    /// Public addresses that stand for every host address (1:1 NAT).
    pub nat_1_1: Vec<IpAddr>,
    /// With `nat_1_1`, offer the private address too.
    pub keep_private_host: bool,
}

/// One address the socket receives on, and what ICE calls it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostAddress {
    /// The interface's name (`lo`, `eth0`).
    pub interface: String,
    /// The address of the machine, that datagrams arrive at.
    pub bound: IpAddr,
    /// The addresses offered for it as host candidates, the first being what ICE is told.
    pub advertised: Vec<IpAddr>,
}

/// The host addresses, both ways, and the server-reflexive one if a STUN server told it.
#[derive(Clone, Debug, Default)]
pub struct Addresses {
    pub hosts: Vec<HostAddress>,
    /// (mapped address, the host address ICE calls its base).
    pub reflexive: Option<(std::net::SocketAddr, IpAddr)>,
}

fn matches(list: &[String], name: &str, ip: &IpAddr) -> bool {
    let ip = ip.to_string();
    list.iter().any(|p| !p.is_empty() && (name.starts_with(p.as_str()) || ip.starts_with(p.as_str())))
}

/// Splits a comma-separated setting (`"eth0, 192.168."`) into its entries.
pub fn list(setting: &str) -> Vec<String> {
    setting.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

impl Addresses {
    /// The addresses of `interfaces` (name, address; those that are up) the rules keep, IPv4 and
    /// IPv6 (but link-local).
    pub fn choose(interfaces: &[(String, IpAddr)], rules: &AddressRules) -> Addresses {
        let mut hosts: Vec<HostAddress> = Vec::new();
        for (name, ip) in interfaces {
            let kept = if rules.enforce.is_empty() {
                !matches(&rules.ignore, name, ip)
            } else {
                matches(&rules.enforce, name, ip)
            };
            // IPv6 link-local addresses need a scope to be reached: not offered (as Janus).
            let link_local = matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80);
            if !kept || link_local || hosts.iter().any(|h| h.bound == *ip) {
                continue;
            }
            // Loopback is never behind the NAT: mapping it would make the public address
            // stand for two machine addresses.
            let mapped: Vec<IpAddr> = if ip.is_loopback() {
                Vec::new()
            } else {
                rules.nat_1_1.iter().filter(|p| p.is_ipv4() == ip.is_ipv4()).copied().collect()
            };
            let mut advertised = mapped.clone();
            if mapped.is_empty() || rules.keep_private_host {
                advertised.push(*ip);
            }
            hosts.push(HostAddress { interface: name.clone(), bound: *ip, advertised });
        }
        Addresses { hosts, reflexive: None }
    }

    /// Every advertised address, once each, in order.
    pub fn candidates(&self) -> Vec<IpAddr> {
        let mut all: Vec<IpAddr> = Vec::new();
        for a in self.hosts.iter().flat_map(|h| &h.advertised) {
            if !all.contains(a) {
                all.push(*a);
            }
        }
        all
    }

    /// What ICE calls a datagram's arrival address (`None`: not one of ours to use).
    pub fn ice_address(&self, bound: IpAddr) -> Option<IpAddr> {
        self.hosts.iter().find(|h| h.bound == bound).map(|h| h.advertised[0])
    }

    /// The address of the machine a datagram ICE sends from `advertised` must leave from.
    pub fn bound_address(&self, advertised: IpAddr) -> Option<IpAddr> {
        self.hosts.iter().find(|h| h.advertised.contains(&advertised)).map(|h| h.bound)
    }
}

/// The machine's interfaces that are up, with their addresses.
pub fn interfaces() -> std::io::Result<Vec<(String, IpAddr)>> {
    use nix::net::if_::InterfaceFlags;
    let mut out = Vec::new();
    for ifa in nix::ifaddrs::getifaddrs().map_err(std::io::Error::from)? {
        if !ifa.flags.contains(InterfaceFlags::IFF_UP) {
            continue;
        }
        let Some(addr) = ifa.address else { continue };
        let ip = if let Some(v4) = addr.as_sockaddr_in() {
            IpAddr::V4(v4.ip())
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            IpAddr::V6(v6.ip())
        } else {
            continue;
        };
        out.push((ifa.interface_name, ip));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ifs() -> Vec<(String, IpAddr)> {
        [
            ("lo", "127.0.0.1"),
            ("eth0", "10.0.0.5"),
            ("eth1", "192.168.1.7"),
            ("vmnet8", "172.16.0.1"),
            ("eth0", "fe80::1"),
            ("eth0", "2001:db8::5"),
        ]
        .iter()
        .map(|(n, a)| (n.to_string(), a.parse().unwrap()))
        .collect()
    }

    fn bound(a: &Addresses) -> Vec<String> {
        a.hosts.iter().map(|h| h.bound.to_string()).collect()
    }

    #[test]
    fn every_interface_but_the_ignored_ones_by_default() {
        let rules = AddressRules { ignore: list("vmnet"), ..Default::default() };
        let a = Addresses::choose(&ifs(), &rules);
        assert_eq!(bound(&a), ["127.0.0.1", "10.0.0.5", "192.168.1.7", "2001:db8::5"], "link-local is not offered");
        assert_eq!(a.candidates().len(), 4);
    }

    #[test]
    fn an_enforce_list_keeps_names_and_address_prefixes_and_overrides_the_ignore_list() {
        let rules = AddressRules { enforce: list("eth1, 10.0."), ignore: list("eth"), ..Default::default() };
        assert_eq!(bound(&Addresses::choose(&ifs(), &rules)), ["10.0.0.5", "192.168.1.7"]);
        let rules = AddressRules { ignore: list("lo,192.168.,vmnet,2001:"), ..Default::default() };
        assert_eq!(bound(&Addresses::choose(&ifs(), &rules)), ["10.0.0.5"]);
    }

    #[test]
    fn a_1_1_nat_advertises_the_public_address_for_the_private_one() {
        let public: IpAddr = "198.51.100.7".parse().unwrap();
        let rules = AddressRules { enforce: list("eth0"), nat_1_1: vec![public], ..Default::default() };
        let a = Addresses::choose(&ifs(), &rules);
        let v6: IpAddr = "2001:db8::5".parse().unwrap();
        assert_eq!(a.candidates(), [public, v6], "an IPv4 mapping leaves IPv6 addresses as they are");
        let private: IpAddr = "10.0.0.5".parse().unwrap();
        assert_eq!(a.ice_address(private), Some(public));
        assert_eq!(a.bound_address(public), Some(private));
        assert_eq!(a.ice_address("192.168.1.7".parse().unwrap()), None, "not a chosen address");
        let keep = AddressRules { keep_private_host: true, ..rules.clone() };
        assert_eq!(Addresses::choose(&ifs(), &keep).candidates(), [public, private, v6]);
        // Loopback stays itself, and the public address still leaves from the private one.
        let every = AddressRules { enforce: list("lo,10.0."), ..rules };
        let a = Addresses::choose(&ifs(), &every);
        assert_eq!(a.candidates(), ["127.0.0.1".parse::<IpAddr>().unwrap(), public]);
        assert_eq!(a.bound_address(public), Some(private));
    }
}
