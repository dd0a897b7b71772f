//! Everything vroom holds, counted at once: what the core holds (its census), what the media
//! engine holds, and what the kernel counts for the process. Read through the admin API's
//! `accounting` request and `/metrics`; every fault test and the soak compare it with the
//! baseline taken before.

use super::process::ProcessSample;
use crate::core::census::Census;
use crate::core::Core;
use crate::media::{MediaAccounting, MediaEngine};
use crate::sync::Runtime;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accounting {
    pub core: Census,
    pub media: Option<MediaAccounting>,
    pub process: ProcessSample,
    /// Tasks alive on the tokio runtime this was read on (none off a runtime).
    pub tokio_tasks: Option<u64>,
}

impl Accounting {
    pub fn now<R: Runtime>(core: &Core<R>, media: Option<&MediaEngine>) -> Accounting {
        Accounting {
            core: core.census(),
            media: media.map(MediaEngine::accounting),
            process: ProcessSample::current().unwrap_or_default(),
            tokio_tasks: tokio::runtime::Handle::try_current().ok().map(|h| h.metrics().num_alive_tasks() as u64),
        }
    }
}
