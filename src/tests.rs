//! Checks of the crate's shape that no single module can make: the modules' `use` graph
//! has no circle, at the level of files and at the level of the top modules of `lib.rs`.
//!
//! The graph is read from the source: every path a file names (`use` trees, `crate::…`,
//! `super::…`, and names it imported or declared) is resolved to the deepest module file
//! it reaches. Test code (`#[cfg(test)]` modules) is left out: tests may reach across.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/` with its module path (`crate::a::b`), test-only files
/// left out.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    let mut out = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(src).unwrap().with_extension("");
        let mut parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts == ["main"] {
            continue;
        }
        if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
            parts.pop();
        }
        let name = std::iter::once("crate".to_string())
            .chain(parts)
            .collect::<Vec<_>>()
            .join("::");
        out.insert(name, f);
    }
    // Modules declared `#[cfg(test)] mod x;` are test code.
    let test_only: Vec<String> = out
        .iter()
        .flat_map(|(name, file)| {
            let text = std::fs::read_to_string(file).unwrap();
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            let mut found = Vec::new();
            for w in lines.windows(2) {
                if w[0] == "#[cfg(test)]"
                    && let Some(m) = w[1]
                        .strip_prefix("pub mod ")
                        .or_else(|| w[1].strip_prefix("mod "))
                        .and_then(|m| m.strip_suffix(';'))
                {
                    found.push(format!("{name}::{m}"));
                }
            }
            found
        })
        .collect();
    for t in test_only {
        out.retain(|name, _| name != &t && !name.starts_with(&format!("{t}::")));
    }
    out
}

/// A file's code: test modules and comments removed.
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim();
        if t == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|n| n.trim().starts_with("mod tests"))
        {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        out += line.split(" //").next().unwrap_or("");
        out.push('\n');
    }
    out
}

/// Expands a `use` tree (`a::{b, c::d as e}`) into its full paths (alias dropped).
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or("").trim();
        return vec![path.to_string()];
    };
    let prefix = tree[..open].trim_end_matches("::").trim();
    let close = tree.rfind('}').filter(|&c| c > open).unwrap_or(tree.len());
    let inner = &tree[open + 1..close];
    // Split the inner list at top-level commas.
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand)
        .map(|p| {
            if p == "self" {
                prefix.to_string()
            } else if prefix.is_empty() {
                p
            } else {
                format!("{prefix}::{p}")
            }
        })
        .collect()
}

/// The parent of a module path.
fn parent(m: &str) -> String {
    m.rsplit_once("::")
        .map_or("crate".into(), |(p, _)| p.into())
}

/// Resolves a path named in module `at` (`crate::…`, `super::…`, `self::…`, or relative
/// to `at`, whose names `scope` maps to full paths) to the deepest known module.
fn resolve(
    path: &str,
    at: &str,
    scope: &BTreeMap<String, String>,
    mods: &BTreeMap<String, PathBuf>,
) -> Option<String> {
    let mut segs: Vec<&str> = path.split("::").map(str::trim).collect();
    let mut base = match segs.first()? {
        &"crate" => {
            segs.remove(0);
            "crate".to_string()
        }
        &"self" => {
            segs.remove(0);
            at.to_string()
        }
        &"super" => {
            let mut b = at.to_string();
            while segs.first() == Some(&"super") {
                segs.remove(0);
                b = parent(&b);
            }
            b
        }
        first => match scope.get(*first) {
            Some(full) => {
                segs.remove(0);
                full.clone()
            }
            None if mods.contains_key(&format!("{at}::{first}")) => at.to_string(),
            None => return None,
        },
    };
    let mut best = mods.contains_key(&base).then(|| base.clone());
    for s in segs {
        base = format!("{base}::{s}");
        if mods.contains_key(&base) {
            best = Some(base.clone());
        }
    }
    best
}

/// Each module's dependencies on other modules.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules(src);
    let mut g = BTreeMap::new();
    for (name, file) in &mods {
        let text = code(&std::fs::read_to_string(file).unwrap());
        let mut deps = BTreeSet::new();
        // `use` trees (they may span lines), and what names they bring into scope.
        let mut scope = BTreeMap::new();
        let lines: Vec<&str> = text.lines().collect();
        let mut l = 0;
        while l < lines.len() {
            let t = lines[l].trim_start();
            let body = ["use ", "pub use ", "pub(crate) use ", "pub(super) use "]
                .iter()
                .find_map(|p| t.strip_prefix(p));
            let Some(first) = body else {
                l += 1;
                continue;
            };
            let mut stmt = first.to_string();
            while !stmt.contains(';') && l + 1 < lines.len() {
                l += 1;
                stmt += lines[l];
            }
            l += 1;
            let tree = stmt.split(';').next().unwrap_or("");
            for path in expand(tree) {
                if let Some(m) = resolve(&path, name, &scope, &mods) {
                    let last = path.rsplit("::").next().unwrap_or("").to_string();
                    scope.insert(last, path_full(&path, name));
                    deps.insert(m);
                }
            }
        }
        // Paths in code: `crate::…`, `super::…`, `self::…`, and `name::…` for a name in
        // scope.
        let bytes: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_alphabetic() || bytes[i] == '_' {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_alphanumeric() || bytes[i] == '_' || bytes[i] == ':')
                {
                    i += 1;
                }
                let word: String = bytes[start..i].iter().collect();
                let prev = start.checked_sub(1).map(|p| bytes[p]);
                // A path ending in `::` goes on into a `{…}` list: a `use` tree, read above.
                if word.contains("::")
                    && !word.ends_with(':')
                    && prev != Some(':')
                    && let Some(m) = resolve(&word, name, &scope, &mods)
                {
                    deps.insert(m);
                }
            } else {
                i += 1;
            }
        }
        deps.remove(name);
        g.insert(name.clone(), deps);
    }
    g
}

/// A `use` path made absolute, for the scope of later paths.
fn path_full(path: &str, at: &str) -> String {
    let mut segs: Vec<&str> = path.split("::").collect();
    let mut base = at.to_string();
    match segs.first() {
        Some(&"crate") => {
            segs.remove(0);
            base = "crate".into();
        }
        Some(&"super") => {
            while segs.first() == Some(&"super") {
                segs.remove(0);
                base = parent(&base);
            }
        }
        Some(&"self") => {
            segs.remove(0);
        }
        _ => {}
    }
    std::iter::once(base.as_str())
        .chain(segs)
        .collect::<Vec<_>>()
        .join("::")
}

/// The circles of a graph: its strongly connected components of more than one node.
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Tarjan's algorithm, recursive (the graph is small).
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.g.contains_key(w) {
                continue;
            }
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn module_graph_has_no_circles() {
    let g = graph(&src());
    // The reader sees real edges: a sample the code is known to have.
    assert!(
        g["crate::templates::die"].contains("crate::template"),
        "{g:?}"
    );
    assert!(g["crate::tui::screens::train"].contains("crate::tui::app"));
    assert!(g["crate::cli::train"].contains("crate::templates"));
    let files = circles(&g);
    assert!(files.is_empty(), "import circles between files: {files:?}");
    // The same at the level of lib.rs's modules.
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let head = |m: &str| m.split("::").take(2).collect::<Vec<_>>().join("::");
    for (m, deps) in &g {
        let entry = top.entry(head(m)).or_default();
        entry.extend(deps.iter().map(|d| head(d)).filter(|d| *d != head(m)));
    }
    top.remove("crate");
    let tops = circles(&top);
    assert!(
        tops.is_empty(),
        "import circles between top modules: {tops:?}"
    );
}

#[test]
fn the_checker_finds_a_circle() {
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    g.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    g.insert("d".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(circles(&g), vec![vec!["a", "b", "c"]]);
    assert_eq!(
        expand("crate::x::{a, b::{c, d as e}, self}"),
        [
            "crate::x::a",
            "crate::x::b::c",
            "crate::x::b::d",
            "crate::x"
        ]
    );
}

#[test]
fn no_source_file_is_over_800_lines() {
    let long: Vec<String> = modules(&src())
        .values()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > 800).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by responsibility: {long:?}");
}

/// Only the template folders decide by template: no module outside `src/templates/`
/// names a template, and the template list is read from the registry.
#[test]
fn templates_are_matched_in_their_folders_only() {
    for (name, file) in modules(&src()) {
        if name.starts_with("crate::templates") {
            continue;
        }
        let text = code(&std::fs::read_to_string(&file).unwrap());
        for t in [
            "\"cvae-die\"",
            "\"bitnet-mnist\"",
            "\"streaming-sd\"",
            "TemplateId",
        ] {
            assert!(!text.contains(t), "{} names {t}", file.display());
        }
    }
}
