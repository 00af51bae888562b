//! What each object write changes besides the record itself: per-backend usage and the queue
//! intents it creates. Pure functions over records, so every store applies the same rules; a
//! store applies a write's record change and all of its [`Effect`]s in one atomic batch, the
//! effects in the order given (usage subtraction saturates, so order matters for a drifted
//! counter, and queue ids follow it).

use super::model::{AddCopyOutcome, BackendUsage, Copy, ObjectRecord, QueueItem};

/// One change a write implies beside its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// `backend` holds one more copy, of `size` bytes.
    CopyAdded { backend: String, size: u64 },
    /// `backend` holds one copy of `size` bytes fewer.
    CopyDropped { backend: String, size: u64 },
    /// Queue this intent.
    Enqueue(QueueItem),
}

/// `usage` after `effect`'s change of it (a [`Effect::Enqueue`] leaves it alone). Subtraction
/// saturates: a drifted counter must not wrap to 2^64.
pub(crate) fn adjust_usage(mut usage: BackendUsage, effect: &Effect) -> BackendUsage {
    match effect {
        Effect::CopyAdded { size, .. } => {
            usage.bytes_used = usage.bytes_used.saturating_add(*size);
            usage.objects = usage.objects.saturating_add(1);
        }
        Effect::CopyDropped { size, .. } => {
            usage.bytes_used = usage.bytes_used.saturating_sub(*size);
            usage.objects = usage.objects.saturating_sub(1);
        }
        Effect::Enqueue(_) => {}
    }
    usage
}

/// The cleanup intent for `copy` of the record version `generation`.
fn cleanup(copy: &Copy, generation: u64) -> Effect {
    Effect::Enqueue(QueueItem::Cleanup {
        backend: copy.backend.clone(),
        backend_key: copy.backend_key.clone(),
        generation,
    })
}

/// Effects of storing `record` (its generation already assigned) at `bucket/key` over
/// `previous`: usage of every new copy added; for every previous copy, its usage subtracted and,
/// unless the new record has a copy at the same backend + backend key (the new body overwrote
/// it in place), a cleanup; then `replicate` replication intents for the new generation.
pub(crate) fn put_effects(
    bucket: &str,
    key: &str,
    record: &ObjectRecord,
    previous: Option<&ObjectRecord>,
    replicate: u32,
) -> Vec<Effect> {
    let mut out = Vec::new();
    for c in &record.copies {
        out.push(Effect::CopyAdded {
            backend: c.backend.clone(),
            size: record.size,
        });
    }
    if let Some(prev) = previous {
        for c in &prev.copies {
            out.push(Effect::CopyDropped {
                backend: c.backend.clone(),
                size: prev.size,
            });
            if record.copy_at(&c.backend, &c.backend_key).is_none() {
                out.push(cleanup(c, prev.generation));
            }
        }
    }
    for _ in 0..replicate {
        out.push(Effect::Enqueue(QueueItem::Replicate {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            generation: record.generation,
        }));
    }
    out
}

/// Effects of deleting `removed`: for every copy, its usage subtracted and a cleanup.
pub(crate) fn delete_effects(removed: &ObjectRecord) -> Vec<Effect> {
    let mut out = Vec::with_capacity(2 * removed.copies.len());
    for c in &removed.copies {
        out.push(Effect::CopyDropped {
            backend: c.backend.clone(),
            size: removed.size,
        });
        out.push(cleanup(c, removed.generation));
    }
    out
}

/// A copy-level write's decision: the record to store (None: leave it as it is) and the effects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CopyChange {
    pub(crate) record: Option<ObjectRecord>,
    pub(crate) effects: Vec<Effect>,
}

/// `add_copy(generation, copy)` against the `current` record. If the record still has
/// `generation`, the copy is added (its usage counted) or, at the same backend + backend key,
/// only its state is updated. Otherwise the copy is of a version that no longer exists: it is
/// not recorded, and a cleanup is queued for it unless the live record uses that very backend
/// key.
pub(crate) fn add_copy(
    current: Option<ObjectRecord>,
    generation: u64,
    copy: Copy,
) -> (AddCopyOutcome, CopyChange) {
    let mut record = match current {
        Some(r) if r.generation == generation => r,
        other => {
            let in_use = other
                .as_ref()
                .is_some_and(|r| r.copy_at(&copy.backend, &copy.backend_key).is_some());
            let effects = if in_use {
                Vec::new()
            } else {
                vec![cleanup(&copy, generation)]
            };
            let change = CopyChange {
                record: None,
                effects,
            };
            return (AddCopyOutcome::Superseded, change);
        }
    };
    let mut effects = Vec::new();
    if let Some(existing) = record
        .copies
        .iter_mut()
        .find(|c| c.backend == copy.backend && c.backend_key == copy.backend_key)
    {
        existing.state = copy.state;
    } else {
        effects.push(Effect::CopyAdded {
            backend: copy.backend.clone(),
            size: record.size,
        });
        record.copies.push(copy);
    }
    let change = CopyChange {
        record: Some(record),
        effects,
    };
    (AddCopyOutcome::Added, change)
}

/// `remove_copy(generation, backend, backend_key)` against the `current` record: None (nothing
/// changes) unless the record still has `generation` and that copy; otherwise the record without
/// it, its usage subtracted and a cleanup for it.
pub(crate) fn remove_copy(
    current: Option<ObjectRecord>,
    generation: u64,
    backend: &str,
    backend_key: &str,
) -> Option<CopyChange> {
    let mut record = current.filter(|r| r.generation == generation)?;
    let pos = record
        .copies
        .iter()
        .position(|c| c.backend == backend && c.backend_key == backend_key)?;
    let removed = record.copies.remove(pos);
    let effects = vec![
        Effect::CopyDropped {
            backend: removed.backend.clone(),
            size: record.size,
        },
        cleanup(&removed, generation),
    ];
    Some(CopyChange {
        record: Some(record),
        effects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::CopyState;

    fn copy(backend: &str, backend_key: &str) -> Copy {
        Copy {
            backend: backend.into(),
            backend_key: backend_key.into(),
            state: CopyState::Complete,
        }
    }

    fn rec(size: u64, generation: u64, copies: &[(&str, &str)]) -> ObjectRecord {
        ObjectRecord {
            size,
            generation,
            copies: copies.iter().map(|(b, k)| copy(b, k)).collect(),
            ..Default::default()
        }
    }

    fn added(backend: &str, size: u64) -> Effect {
        Effect::CopyAdded {
            backend: backend.into(),
            size,
        }
    }

    fn dropped(backend: &str, size: u64) -> Effect {
        Effect::CopyDropped {
            backend: backend.into(),
            size,
        }
    }

    fn cleanup_of(backend: &str, backend_key: &str, generation: u64) -> Effect {
        Effect::Enqueue(QueueItem::Cleanup {
            backend: backend.into(),
            backend_key: backend_key.into(),
            generation,
        })
    }

    #[test]
    fn overwrite_counts_new_copies_drops_old_ones_and_cleans_only_moved_ones() {
        let prev = rec(10, 4, &[("b1", "k"), ("b2", "k")]);
        let new = rec(3, 9, &[("b2", "k"), ("b3", "k")]);
        let replicate = QueueItem::Replicate {
            bucket: "bkt".into(),
            key: "key".into(),
            generation: 9,
        };
        assert_eq!(
            put_effects("bkt", "key", &new, Some(&prev), 1),
            vec![
                added("b2", 3),
                added("b3", 3),
                dropped("b1", 10),
                cleanup_of("b1", "k", 4),
                dropped("b2", 10),
                Effect::Enqueue(replicate),
            ]
        );
        assert_eq!(
            delete_effects(&new),
            vec![
                dropped("b2", 3),
                cleanup_of("b2", "k", 9),
                dropped("b3", 3),
                cleanup_of("b3", "k", 9),
            ]
        );
    }

    #[test]
    fn copy_changes_check_the_generation() {
        let live = rec(5, 7, &[("b1", "k")]);
        let (out, change) = add_copy(Some(live.clone()), 7, copy("b2", "k"));
        assert_eq!(out, AddCopyOutcome::Added);
        assert_eq!(change.effects, vec![added("b2", 5)]);
        assert_eq!(change.record.map(|r| r.copies.len()), Some(2));
        // Same backend + key: a state update, not a second copy.
        let (_, change) = add_copy(Some(live.clone()), 7, copy("b1", "k"));
        assert!(change.effects.is_empty());
        let (out, change) = add_copy(Some(live.clone()), 6, copy("b2", "k"));
        assert_eq!(out, AddCopyOutcome::Superseded);
        assert_eq!(change.record, None);
        assert_eq!(change.effects, vec![cleanup_of("b2", "k", 6)]);
        // The live record uses that backend key: no cleanup.
        let (_, change) = add_copy(Some(live.clone()), 6, copy("b1", "k"));
        assert!(change.effects.is_empty());

        assert_eq!(remove_copy(Some(live.clone()), 6, "b1", "k"), None);
        assert_eq!(remove_copy(Some(live.clone()), 7, "b1", "x"), None);
        assert_eq!(remove_copy(None, 7, "b1", "k"), None);
        let change = remove_copy(Some(live), 7, "b1", "k");
        assert_eq!(
            change.map(|c| c.effects),
            Some(vec![dropped("b1", 5), cleanup_of("b1", "k", 7)])
        );
    }

    #[test]
    fn usage_subtraction_saturates() {
        let u = adjust_usage(BackendUsage::default(), &dropped("b", 5));
        assert_eq!(u, BackendUsage::default());
        let u = adjust_usage(u, &added("b", 5));
        assert_eq!(
            u,
            BackendUsage {
                bytes_used: 5,
                objects: 1
            }
        );
    }
}
