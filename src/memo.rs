//! A small cache of expensive results built one at a time: the snapshots of past moments and
//! plans ([`crate::views::ViewCache`]) and coverage reports
//! ([`crate::api::reports::ReportCache`]).
//!
//! Entries are kept most recently used last, up to a budget of weight (each entry's weight is
//! given by the cache's owner: a snapshot's features, or one per report). A caller that misses
//! waits for the build lock and then looks again, so twenty requests for one result build it
//! once, and no number of callers asking for different ones builds more than one at a time.
//!
//! Why by hand: quick_cache (used for tiles) has no notion of a build that others wait for, and
//! these caches hold a handful of large entries, where a list scan is the whole cost.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

pub struct Memo<K, V> {
    entries: Mutex<VecDeque<(K, Arc<V>)>>,
    budget: usize,
    weight: fn(&V) -> usize,
    building: tokio::sync::Mutex<()>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K, V> std::fmt::Debug for Memo<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("budget", &self.budget)
            .field("stats", &self.stats())
            .finish()
    }
}

impl<K, V> Memo<K, V> {
    /// Answers from the cache, and values built.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits.load(Relaxed), self.misses.load(Relaxed))
    }
}

impl<K: PartialEq, V> Memo<K, V> {
    /// Keep up to `budget` of weight, each entry weighing `weight` of its value.
    pub fn new(budget: usize, weight: fn(&V) -> usize) -> Memo<K, V> {
        Memo {
            entries: Mutex::new(VecDeque::new()),
            budget,
            weight,
            building: tokio::sync::Mutex::new(()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn get(&self, key: &K) -> Option<Arc<V>> {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let i = e.iter().position(|(k, _)| k == key)?;
        let hit = e.remove(i)?;
        let v = hit.1.clone();
        e.push_back(hit);
        Some(v)
    }

    /// Keep `value`, dropping the least recently used entries beyond the budget (the newest is
    /// always kept).
    pub fn put(&self, key: K, value: Arc<V>) {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.retain(|(k, _)| k != &key);
        e.push_back((key, value));
        let total = |e: &VecDeque<(K, Arc<V>)>| -> usize {
            e.iter().map(|(_, v)| (self.weight)(v).max(1)).sum()
        };
        while e.len() > 1 && total(&e) > self.budget {
            e.pop_front();
        }
    }

    /// The value of `key`, built by `build` when it is not kept (one build at a time).
    pub async fn get_or_build<E, F>(&self, key: K, build: F) -> Result<Arc<V>, E>
    where
        F: std::future::Future<Output = Result<Arc<V>, E>>,
    {
        if let Some(v) = self.get(&key) {
            self.hits.fetch_add(1, Relaxed);
            return Ok(v);
        }
        let _one_at_a_time = self.building.lock().await;
        if let Some(v) = self.get(&key) {
            self.hits.fetch_add(1, Relaxed);
            return Ok(v);
        }
        self.misses.fetch_add(1, Relaxed);
        let value = build.await?;
        self.put(key, value.clone());
        Ok(value)
    }
}
