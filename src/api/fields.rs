//! Reading the fields of a JSON request the way Janus validates them: a missing mandatory field
//! is "Missing mandatory element (x)", a field of the wrong type "Invalid element type (x should
//! be ...)"; both carry the plugin's code (429 / 430 for the VideoRoom).

use serde_json::{Map, Value};

use crate::core::Error;

/// A request body (or any JSON object) being read.
#[derive(Clone, Copy)]
pub struct Fields<'a>(pub &'a Map<String, Value>);

fn wrong(name: &str, what: &str) -> Error {
    Error::InvalidElement(format!("{name} should be {what}"))
}

impl<'a> Fields<'a> {
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub fn u64(&self, name: &str) -> Result<Option<u64>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.as_u64().filter(|n| *n > 0).map(Some).ok_or_else(|| wrong(name, "a positive integer")),
        }
    }

    pub fn req_u64(&self, name: &'static str) -> Result<u64, Error> {
        self.u64(name)?.ok_or(Error::MissingElement(name))
    }

    /// A non-negative integer (0 allowed), e.g. a bitrate.
    pub fn u32(&self, name: &str) -> Result<Option<u32>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| wrong(name, "a positive integer")),
        }
    }

    pub fn str(&self, name: &str) -> Result<Option<&'a str>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.as_str().map(Some).ok_or_else(|| wrong(name, "a string")),
        }
    }

    pub fn req_str(&self, name: &'static str) -> Result<&'a str, Error> {
        self.str(name)?.ok_or(Error::MissingElement(name))
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, Error> {
        Ok(self.str(name)?.map(String::from))
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.as_bool().map(Some).ok_or_else(|| wrong(name, "a boolean")),
        }
    }

    pub fn array(&self, name: &str) -> Result<Option<&'a Vec<Value>>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.as_array().map(Some).ok_or_else(|| wrong(name, "an array")),
        }
    }

    /// The objects of an array field.
    pub fn objects(&self, name: &str) -> Result<Vec<Fields<'a>>, Error> {
        self.array(name)?
            .into_iter()
            .flatten()
            .map(|v| v.as_object().map(Fields).ok_or_else(|| wrong(name, "an array of objects")))
            .collect()
    }

    /// The strings of an array field.
    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>, Error> {
        self.array(name)?
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().map(String::from).ok_or_else(|| wrong(name, "an array of strings")))
                    .collect()
            })
            .transpose()
    }
}
