use super::*;
use std::collections::HashMap;

/// The pieces generated keys are made of: separators, dot segments, every escaped character, the
/// escapes' own spellings, percent sequences a provider could decode, and ordinary text.
const ATOMS: [&str; 13] = [
    "a", ".", "..", "/", "~", "%", "2E", "7E", "~2E", "%2e", "\\", "é", "...",
];

/// Every key of up to four atoms (13^4 + … ≈ 30 000 keys), each once.
fn generated_keys() -> Vec<String> {
    let mut keys = vec![String::new()];
    let mut layer = vec![String::new()];
    for _ in 0..4 {
        layer = layer
            .iter()
            .flat_map(|k| ATOMS.iter().map(move |a| format!("{k}{a}")))
            .collect();
        keys.extend(layer.iter().cloned());
    }
    keys.sort();
    keys.dedup();
    keys
}

/// What a path-normalising provider does to an object name before it stores it, all at once:
/// percent-decodes until nothing changes (double decoding), turns `\` into `/`, collapses `//`
/// and resolves `.` and `..` segments (RFC 3986 remove_dot_segments; `..` at the top stays at the
/// top). A trailing `/` is kept, as RFC 3986 keeps it.
fn provider_normalise(name: &str) -> String {
    let mut s = name.to_owned();
    loop {
        let decoded = percent_decode_once(&s);
        if decoded == s {
            break;
        }
        s = decoded;
    }
    let s = s.replace('\\', "/");
    let trailing = s.ends_with('/') || s.ends_with("/.") || s.ends_with("/..");
    let mut out: Vec<&str> = Vec::new();
    for seg in s.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            _ => out.push(seg),
        }
    }
    let mut joined = out.join("/");
    if trailing && !joined.is_empty() {
        joined.push('/');
    }
    joined
}

fn percent_decode_once(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn the_map_is_injective_and_round_trips_over_generated_keys() {
    let mut seen: HashMap<String, String> = HashMap::new();
    for key in generated_keys() {
        let name = encode_key(&key);
        assert_eq!(decode_key(&name).as_deref(), Some(key.as_str()), "{key:?}");
        if let Some(other) = seen.insert(name.clone(), key.clone()) {
            panic!("{key:?} and {other:?} both map to {name:?}");
        }
    }
}

#[test]
fn names_have_nothing_a_provider_could_normalise() {
    for key in generated_keys() {
        let name = backend_key("alpha", &key);
        assert!(!name.contains('%') && !name.contains('\\'), "{name:?}");
        let segments: Vec<&str> = name.split('/').collect();
        for (i, seg) in segments.iter().enumerate() {
            assert!(*seg != "." && *seg != "..", "dot segment in {name:?}");
            let last = i + 1 == segments.len();
            assert!(!seg.is_empty() || last, "empty segment in {name:?}");
        }
        // So the provider model stores every name as it is: the map stays injective behind it.
        assert_eq!(provider_normalise(&name), name, "{key:?}");
    }
}

#[test]
fn ordinary_keys_map_to_themselves() {
    for key in [
        "a",
        "dir/file.txt",
        "dir/",
        "photos/2026/12/IMG 0001.jpg",
        "...",
        ".hidden/.profile",
        "a.b/c..d",
        "ключ/é",
        "a+b=c&d",
    ] {
        assert_eq!(encode_key(key), key);
        assert_eq!(backend_key("alpha", key), format!("alpha/{key}"));
        assert_eq!(decode_key(key).as_deref(), Some(key));
    }
}

#[test]
fn special_segments_and_characters_are_escaped() {
    assert_eq!(encode_key("../beta/secret.txt"), "~2E~2E/beta/secret.txt");
    assert_eq!(encode_key("./x"), "~2E/x");
    assert_eq!(encode_key("a//b"), "a/~/b");
    assert_eq!(encode_key("/x"), "~/x");
    assert_eq!(encode_key("a//"), "a/~/");
    assert_eq!(encode_key("%2e%2e/x"), "~252e~252e/x");
    assert_eq!(encode_key("a%2Fb"), "a~252Fb");
    assert_eq!(encode_key("~user\\x"), "~7Euser~5Cx");
    assert_eq!(encode_key(""), "~");
}

#[test]
fn names_the_encoder_never_makes_do_not_decode() {
    for name in [
        "", "../x", "a//b", "a%2e", "~2e", "~41", "~7", "~+7", "~", "~~", "a~", "a\\b",
    ] {
        if name == "~" {
            assert_eq!(decode_key(name).as_deref(), Some(""));
            continue;
        }
        assert_eq!(decode_key(name), None, "{name:?}");
    }
}

/// The attack of issue #13: on a provider that normalises paths, tenant `alpha`'s key reached
/// tenant `beta`'s `secret.txt` when keys went to the provider verbatim; escaped, none does.
#[test]
fn a_tenant_cannot_reach_another_tenants_object_through_a_normalising_provider() {
    let target = provider_normalise(&backend_key("beta", "secret.txt"));
    assert_eq!(target, "beta/secret.txt");
    let attacks = [
        "../beta/secret.txt",
        "./../beta/secret.txt",
        "x/../../beta/secret.txt",
        "%2e%2e/beta/secret.txt",
        "%2E%2E%2Fbeta%2Fsecret.txt",
        "%252e%252e/beta/secret.txt",
        "..\\beta\\secret.txt",
        "//../beta/secret.txt",
    ];
    for key in attacks {
        // What the verbatim map (`<bucket>/<key>`) gave the provider.
        assert_eq!(
            provider_normalise(&format!("alpha/{key}")),
            target,
            "{key:?}"
        );
        let stored = provider_normalise(&backend_key("alpha", key));
        assert!(stored.starts_with("alpha/"), "{key:?} -> {stored:?}");
        assert_ne!(stored, target, "{key:?}");
    }
}

#[test]
fn owners_of_a_name_cover_the_escaped_and_the_verbatim_reading() {
    assert_eq!(
        owners_of("alpha/dir/x"),
        vec![("alpha", "dir/x".to_owned())]
    );
    assert_eq!(
        owners_of("alpha/~2E~2E/beta"),
        vec![
            ("alpha", "../beta".to_owned()),
            ("alpha", "~2E~2E/beta".to_owned())
        ]
    );
    // Stored verbatim before the escape existed: only the verbatim reading.
    assert_eq!(
        owners_of("alpha/../beta"),
        vec![("alpha", "../beta".to_owned())]
    );
    assert_eq!(owners_of("alpha"), vec![("alpha", String::new())]);
}
