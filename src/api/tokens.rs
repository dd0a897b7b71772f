//! Stored-token authentication (Janus's `token_auth`): tokens added on the admin API, each
//! allowed some plugins. Every request but `info` and `ping` must carry a known `token` (or the
//! `apisecret`); `attach` checks the token may use the plugin (405).

use std::collections::{BTreeMap, BTreeSet};

use crate::core::{Error, Plugin, Result};
use crate::sync::levels;
use crate::sync::order::{RwLock, Token};
use crate::sync::Runtime;

const PLUGINS: [Plugin; 2] = [Plugin::VideoRoom, Plugin::EchoTest];

pub struct Tokens<R: Runtime> {
    pub enabled: bool,
    map: RwLock<levels::Tokens, BTreeMap<String, BTreeSet<&'static str>>, R>,
}

fn packages(plugins: &[String]) -> Result<BTreeSet<&'static str>> {
    plugins.iter().map(|p| Plugin::from_package(p).map(Plugin::package)).collect()
}

impl<R: Runtime> Tokens<R> {
    pub fn new(enabled: bool) -> Self {
        Tokens { enabled, map: RwLock::new(BTreeMap::new()) }
    }

    pub fn is_valid(&self, token: &str) -> bool {
        self.map.read(&mut Token::root::<R>()).contains_key(token)
    }

    /// 405 unless `token` may use `plugin` (a token is only checked when token_auth is on).
    pub fn check_plugin(&self, token: Option<&str>, plugin: Plugin) -> Result<()> {
        let (true, Some(token)) = (self.enabled, token) else { return Ok(()) };
        let mut t = Token::root::<R>();
        let map = self.map.read(&mut t);
        match map.get(token) {
            Some(allowed) if allowed.contains(plugin.package()) => Ok(()),
            Some(_) => Err(Error::UnauthorizedPlugin(plugin.package().into())),
            None => Err(Error::Unauthorized),
        }
    }

    /// `add_token`: with no plugins listed, the token may use every plugin.
    pub fn add(&self, token: &str, plugins: Option<&[String]>) -> Result<Vec<&'static str>> {
        let allowed = match plugins {
            Some(p) => packages(p)?,
            None => PLUGINS.iter().map(|p| p.package()).collect(),
        };
        let list = allowed.iter().copied().collect();
        self.map.write(&mut Token::root::<R>()).insert(token.to_string(), allowed);
        Ok(list)
    }

    pub fn remove(&self, token: &str) -> Result<()> {
        self.map.write(&mut Token::root::<R>()).remove(token).map(drop).ok_or(Error::NoSuchToken)
    }

    /// `allow_token` / `disallow_token`: returns the plugins the token may now use.
    pub fn change(&self, token: &str, plugins: &[String], allow: bool) -> Result<Vec<&'static str>> {
        let changed = packages(plugins)?;
        let mut t = Token::root::<R>();
        let mut map = self.map.write(&mut t);
        let allowed = map.get_mut(token).ok_or(Error::NoSuchToken)?;
        if allow {
            allowed.extend(changed);
        } else {
            allowed.retain(|p| !changed.contains(p));
        }
        Ok(allowed.iter().copied().collect())
    }

    pub fn list(&self) -> Vec<(String, Vec<&'static str>)> {
        self.map.read(&mut Token::root::<R>()).iter().map(|(t, p)| (t.clone(), p.iter().copied().collect())).collect()
    }
}
