//! Backend object names: the one map from (virtual bucket, key) to the name a copy gets inside a
//! backend, and back.
//!
//! Every tenant's objects share one provider bucket (and one directory tree on a local backend),
//! so the map must be injective *after* whatever a provider does to a path. Providers differ:
//! some resolve `.` and `..` segments, collapse `//`, percent-decode a name a second time, or treat
//! `\` as a separator. S3 itself stores `../beta/secret.txt` literally, and clients may send it;
//! passed on verbatim, tenant `alpha`'s `../beta/secret.txt` would name tenant `beta`'s
//! `secret.txt` on a normalising provider. So the name is `<vbucket>/<escaped key>`, where the
//! escape leaves nothing for a provider to normalise:
//!
//! - the escape character `~` becomes `~7E`, `%` becomes `~25` and `\` becomes `~5C`, so a name
//!   holds no percent sequence a provider could decode and no backslash it could split on;
//! - a segment (between `/`s) that is `.` or `..` becomes `~2E` or `~2E~2E`;
//! - an empty segment becomes `~`, except a final one: `dir/` stays `dir/` (a folder marker),
//!   because a trailing `/` is no `//` and resolves no dot segment.
//!
//! Everything else passes through, so ordinary keys map to themselves and a backend listing stays
//! readable. Decoding accepts only names the encoder produces ([`decode_key`] checks that encoding
//! its result gives the name back), which is what tells an escaped name from a verbatim one that
//! was stored before this map existed: the catalog keeps each copy's backend name, so such copies
//! are still found under their old names.

/// Starts every escape in a backend name. `~` is unreserved in URIs (no provider decodes it),
/// a plain file-name character on every file system, and rare in keys, so escaping it costs
/// ordinary keys nothing.
pub const ESCAPE: char = '~';

/// The characters always escaped wherever they appear, with the two upper-case hex digits of
/// their byte: the escape character itself (so escapes are unambiguous), `%` (a provider that
/// percent-decodes a name again must find no `%2e%2e` or `%2F` to decode) and `\` (a provider on a
/// file system that splits on it must find none).
const ALWAYS_ESCAPED: [(char, &str); 3] = [('~', "7E"), ('%', "25"), ('\\', "5C")];

/// The name a (virtual bucket, key) copy gets inside a backend: `<bucket>/<escaped key>`.
/// Bucket names are validated S3 names (no `/`, never `.` or `..`); they go through the same
/// segment escape anyway, so the map does not depend on that validation.
pub fn backend_key(bucket: &str, key: &str) -> String {
    let mut s = String::with_capacity(bucket.len() + 1 + key.len());
    push_segment(&mut s, bucket, false);
    s.push('/');
    s.push_str(&encode_key(key));
    s
}

/// The escaped form of `key` (the part of a backend name after `<bucket>/`).
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut segments = key.split('/').peekable();
    let mut first = true;
    while let Some(seg) = segments.next() {
        if !first {
            out.push('/');
        }
        // The last segment of a key with more than one may stay empty: `dir/`.
        let trailing = !first && segments.peek().is_none();
        push_segment(&mut out, seg, trailing);
        first = false;
    }
    out
}

fn push_segment(out: &mut String, seg: &str, trailing: bool) {
    match seg {
        "" if trailing => {}
        "" => out.push(ESCAPE),
        "." => out.push_str("~2E"),
        ".." => out.push_str("~2E~2E"),
        _ => {
            for c in seg.chars() {
                match ALWAYS_ESCAPED.iter().find(|(e, _)| *e == c) {
                    Some((_, hex)) => {
                        out.push(ESCAPE);
                        out.push_str(hex);
                    }
                    None => out.push(c),
                }
            }
        }
    }
}

/// The key whose escaped form is `name` (the part of a backend name after `<bucket>/`), or None
/// when [`encode_key`] never produces `name`: a name stored verbatim before the escape existed,
/// or one some other writer put in the provider's bucket.
pub fn decode_key(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut first = true;
    for seg in name.split('/') {
        if !first {
            out.push('/');
        }
        first = false;
        if seg == "~" {
            continue; // an empty segment
        }
        let mut chars = seg.chars();
        while let Some(c) = chars.next() {
            if c != ESCAPE {
                out.push(c);
                continue;
            }
            let hex: String = chars.by_ref().take(2).collect();
            let byte = u8::from_str_radix(&hex, 16).ok().filter(|b| b.is_ascii())?;
            out.push(char::from(byte));
        }
    }
    // Only the encoder's own output decodes: this rejects lower-case hex, escapes of characters
    // that are never escaped, dot segments left bare, and the like.
    (encode_key(&out) == name).then_some(out)
}

/// The (virtual bucket, key) pairs a backend name may belong to, the escaped reading first: the
/// key it encodes, and the name's rest taken verbatim (how names were made before the escape;
/// the catalog may still hold such copies). One pair when both readings agree or the name is not
/// an escaped one.
pub fn owners_of(backend_key: &str) -> Vec<(&str, String)> {
    let (bucket, rest) = backend_key.split_once('/').unwrap_or((backend_key, ""));
    let mut owners = Vec::with_capacity(2);
    if let Some(key) = decode_key(rest) {
        owners.push((bucket, key));
    }
    if owners.first().is_none_or(|(_, k)| k != rest) {
        owners.push((bucket, rest.to_owned()));
    }
    owners
}

#[cfg(test)]
#[path = "naming_tests.rs"]
mod tests;
