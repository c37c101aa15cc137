//! Symbolisation: a code address in a loaded module becomes frames with a
//! demangled function name, source file and line, the calls inlined at that
//! address included. DWARF is read by addr2line (gimli) through the object
//! crate; we never parse it by hand.
//!
//! Fallbacks, in order, when something is missing: the ELF symbol table's
//! name (no DWARF function), no file and line (no line table), and finally
//! the object's path alone (unreadable module): Valgrind's `fn (in obj)` and
//! `??? (in obj)` lines.
//!
//! # Invariants
//! - The addresses given to addr2line are file addresses: `ip - bias`, minus
//!   one for a return address so that a call ending a function or an inlined
//!   range is attributed to the call, not to what follows it.
//! - Every `Frame` this module builds carries the caller's `ip` (not the
//!   probe) and the module's path as `object`.
//! - A module is opened and its DWARF indexed at most once per `Symbolizer`:
//!   successes and failures are both cached by path.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use addr2line::Loader;
use object::{Object, ObjectSymbol, ObjectSymbolTable};

use crate::model::{AddressDescription, Frame, Stack};
use crate::variables::VariableIndex;

/// A module mapped into the guest: its file and load bias
/// (runtime address = file address + bias; 0 for non-PIE executables).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LoadedModule {
    pub path: PathBuf,
    pub bias: u64,
}

impl LoadedModule {
    pub fn new(path: impl Into<PathBuf>, bias: u64) -> Self {
        LoadedModule {
            path: path.into(),
            bias,
        }
    }
}

/// Where an instruction is in the source, as the line table says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLine {
    /// The directory of `file`, as the debug information gives it.
    pub dir: Option<String>,
    pub file: String,
    /// 0 when the line table gives none.
    pub line: u32,
}

/// Why a module or an address could not be symbolised.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    #[error("{}: cannot read symbols: {message}", path.display())]
    Load { path: PathBuf, message: String },
    #[error("{}: bad debug information near 0x{probe:x}: {message}", path.display())]
    Dwarf {
        path: PathBuf,
        probe: u64,
        message: String,
    },
    #[error("{}: address 0x{ip:x} is below the module's load bias 0x{bias:x}", path.display())]
    BelowBias { path: PathBuf, ip: u64, bias: u64 },
}

/// Maps code addresses to frames, caching what it read of each module.
#[derive(Default)]
pub struct Symbolizer {
    modules: HashMap<PathBuf, Result<ModuleInfo, String>>,
}

impl std::fmt::Debug for Symbolizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Symbolizer")
            .field("modules", &self.modules.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What one module offers: its DWARF (possibly from a separate debug file)
/// and its function symbols.
struct ModuleInfo {
    /// `None` when neither the module nor a debug file has usable DWARF.
    dwarf: Option<Loader>,
    /// The file holding the DWARF: the module or its separate debug file.
    dwarf_path: Option<PathBuf>,
    /// Function symbols.
    symbols: SymbolTable,
    /// Data (object) symbols.
    data: SymbolTable,
    /// Global variables, read on first use (`describe_data`).
    variables: Option<VariableIndex>,
}

impl ModuleInfo {
    /// The module's global variables, read on first use.
    fn variables(&mut self) -> &VariableIndex {
        let path = &self.dwarf_path;
        self.variables.get_or_insert_with(|| match path {
            Some(p) => VariableIndex::read(p),
            None => VariableIndex::default(),
        })
    }
}

impl Symbolizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The frames for `ip` in `module`, innermost inlined call first.
    /// `is_return_address` is true for every frame of a stack but the first.
    /// Never empty on success.
    ///
    /// Like Valgrind, the outermost frame is named from the ELF symbol table
    /// (so `fun:pthread_create@*` suppressions keep working) and inlined
    /// calls from DWARF; DWARF names the function when no symbol covers it.
    pub fn symbolize(
        &mut self,
        module: &LoadedModule,
        ip: u64,
        is_return_address: bool,
    ) -> Result<Vec<Frame>, SymbolError> {
        let path = module.path.clone();
        let object = path.display().to_string();
        let Some(file_addr) = ip.checked_sub(module.bias) else {
            return Err(SymbolError::BelowBias {
                path,
                ip,
                bias: module.bias,
            });
        };
        let probe = if is_return_address {
            file_addr.saturating_sub(1)
        } else {
            file_addr
        };
        let info = self.module(&module.path)?;
        let dwarf_err = |e: addr2line::gimli::Error| SymbolError::Dwarf {
            path: path.clone(),
            probe,
            message: e.to_string(),
        };
        let mut frames = Vec::new();
        if let Some(loader) = &info.dwarf {
            let mut iter = loader.find_frames(probe).map_err(|e| SymbolError::Dwarf {
                path: path.clone(),
                probe,
                message: e.to_string(),
            })?;
            while let Some(f) = iter.next().map_err(dwarf_err)? {
                let (function, linkage_name) = match &f.function {
                    Some(name) => {
                        let raw = name.raw_name().map_err(dwarf_err)?;
                        let shown = demangle_lang(&raw, name.language);
                        (Some(shown.into_owned()), Some(raw.into_owned()))
                    }
                    None => (None, None),
                };
                let (dir, file, line) = split_location(f.location.as_ref());
                frames.push(Frame {
                    ip,
                    function,
                    linkage_name,
                    dir,
                    file,
                    line,
                    object: Some(object.clone()),
                    generated: None,
                });
            }
        }
        if frames.is_empty() {
            frames.push(Frame {
                ip,
                object: Some(object.clone()),
                ..Frame::default()
            });
        }
        if let (Some(last), Some(sym)) = (frames.last_mut(), info.symbols.lookup(probe)) {
            last.function = Some(demangle_versioned(sym));
            last.linkage_name = Some(sym.to_string());
        }
        Ok(frames)
    }

    /// Like `symbolize`, but never fails: bad DWARF gives the symbol table's
    /// name if it can, an unreadable module the object alone, no module an
    /// unknown frame (`module` is `None` when no module holds `ip`).
    pub fn frames(
        &mut self,
        module: Option<&LoadedModule>,
        ip: u64,
        is_return_address: bool,
    ) -> Vec<Frame> {
        let Some(module) = module else {
            return vec![Frame::unknown(ip)];
        };
        match self.symbolize(module, ip, is_return_address) {
            Ok(frames) => frames,
            Err(_) => {
                let mut frame = Frame {
                    object: Some(module.path.display().to_string()),
                    ..Frame::unknown(ip)
                };
                if let (Ok(info), Some(file_addr)) =
                    (self.module(&module.path), ip.checked_sub(module.bias))
                {
                    let probe = file_addr.saturating_sub(u64::from(is_return_address));
                    if let Some(sym) = info.symbols.lookup(probe) {
                        frame.function = Some(demangle_versioned(sym));
                        frame.linkage_name = Some(sym.to_string());
                    }
                }
                vec![frame]
            }
        }
    }

    /// What a profiler names an instruction by (Cachegrind's `fl=`, `fn=`
    /// and line): the line table's (directory, file, line) for `ip` and the
    /// symbol table's function holding it, demangled. Cheaper than
    /// `frames`: no inlined calls are walked. `None` parts are unknown.
    pub fn line_and_function(
        &mut self,
        module: &LoadedModule,
        ip: u64,
    ) -> (Option<SourceLine>, Option<String>) {
        let Some(probe) = ip.checked_sub(module.bias) else {
            return (None, None);
        };
        let Ok(info) = self.module(&module.path) else {
            return (None, None);
        };
        let location = info
            .dwarf
            .as_ref()
            .and_then(|loader| loader.find_location(probe).ok().flatten());
        let line = match split_location(location.as_ref()) {
            (dir, Some(file), line) => Some(SourceLine {
                dir,
                file,
                line: line.unwrap_or(0),
            }),
            _ => None,
        };
        (line, info.symbols.lookup(probe).map(demangle_versioned))
    }

    /// The stack for `ips` (innermost first, as a shadow call stack gives
    /// them): the first is the faulting address, the others return addresses.
    /// `module_of` says which module holds an address.
    pub fn stack<'m>(
        &mut self,
        ips: &[u64],
        module_of: impl Fn(u64) -> Option<&'m LoadedModule>,
    ) -> Stack {
        let mut frames = Vec::new();
        for (i, &ip) in ips.iter().enumerate() {
            frames.extend(self.frames(module_of(ip), ip, i > 0));
        }
        Stack::new(frames)
    }

    /// Where data address `addr` lies in `module`: a global variable (from
    /// DWARF: `Location 0x… is N bytes inside global var "x"`, `declared
    /// at f.c:4`) or else a data symbol (`… inside data symbol "x"`); `None`
    /// when neither covers it (heap, stacks and unknown memory are the race
    /// tool's to describe).
    ///
    /// (Reads the module's variables on first use; see `atomic_variables`.)
    /// The global and static variables of `module` whose DWARF type is
    /// atomic (C11 `_Atomic`, C++ `std::atomic`), as (address, size,
    /// element size) at run time; empty without DWARF in the module itself
    /// (separate debug files, the system libraries', are large and hold no
    /// program's atomics). Called at every module load, so it neither maps
    /// the file nor keeps it: the section table is read first, and the
    /// variables only when there is a `.debug_info`.
    pub fn atomic_variables(&mut self, module: &LoadedModule) -> Vec<(u64, u64, u64)> {
        if !crate::variables::has_debug_info(&module.path) {
            return Vec::new();
        }
        VariableIndex::read(&module.path)
            .atomics()
            .map(|(addr, size, element)| (addr.wrapping_add(module.bias), size, element))
            .collect()
    }

    pub fn describe_data(
        &mut self,
        module: &LoadedModule,
        addr: u64,
    ) -> Option<AddressDescription> {
        let file_addr = addr.checked_sub(module.bias)?;
        let info = self.module_mut(&module.path).ok()?;
        if let Some(v) = info.variables().lookup(file_addr) {
            return Some(AddressDescription::GlobalVar {
                addr,
                offset: file_addr - v.addr,
                name: v.name.clone(),
                declared_at: v.declared_at.clone(),
            });
        }
        let sym = info.data.lookup_entry(file_addr)?;
        Some(AddressDescription::DataSymbol {
            addr,
            offset: file_addr - sym.start,
            name: demangle_versioned(&sym.name),
        })
    }

    /// Whether `path` was opened already (its symbols read, its debug
    /// information mapped): the first use of a module maps files.
    pub fn has_loaded(&self, path: &Path) -> bool {
        self.modules.contains_key(path)
    }

    fn module_mut(&mut self, path: &Path) -> Result<&mut ModuleInfo, SymbolError> {
        let entry = self
            .modules
            .entry(path.to_path_buf())
            .or_insert_with(|| open_module(path));
        entry.as_mut().map_err(|message| SymbolError::Load {
            path: path.to_path_buf(),
            message: message.clone(),
        })
    }

    fn module(&mut self, path: &Path) -> Result<&ModuleInfo, SymbolError> {
        let entry = self
            .modules
            .entry(path.to_path_buf())
            .or_insert_with(|| open_module(path));
        entry.as_ref().map_err(|message| SymbolError::Load {
            path: path.to_path_buf(),
            message: message.clone(),
        })
    }
}

/// Reads `path`'s symbols and finds its DWARF: in the file itself, else in
/// a separate debug file found by build id or `.gnu_debuglink`
/// (Debian's `-dbg`/`-dbgsym` packages).
fn open_module(path: &Path) -> Result<ModuleInfo, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let cache = object::ReadCache::new(file);
    let elf = object::File::parse(&cache).map_err(|e| e.to_string())?;
    let has_dwarf = elf.section_by_name(".debug_info").is_some();
    let mut symbols = SymbolTable::read(&elf, object::SymbolKind::Text);
    let mut data = SymbolTable::read(&elf, object::SymbolKind::Data);
    let debug_file = if has_dwarf {
        None
    } else {
        separate_debug_file(path, &elf)
    };
    let dwarf_path = debug_file.as_deref().unwrap_or(path);
    if let Some(debug) = &debug_file {
        // A debug file's full symbol table beats the stripped module's.
        if let Ok(f) = std::fs::File::open(debug) {
            let cache = object::ReadCache::new(f);
            if let Ok(d) = object::File::parse(&cache) {
                let full = SymbolTable::read(&d, object::SymbolKind::Text);
                if full.entries.len() > symbols.entries.len() {
                    symbols = full;
                }
                let full = SymbolTable::read(&d, object::SymbolKind::Data);
                if full.entries.len() > data.entries.len() {
                    data = full;
                }
            }
        }
    }
    let dwarf = if has_dwarf || debug_file.is_some() {
        Loader::new(dwarf_path).ok()
    } else {
        None
    };
    Ok(ModuleInfo {
        dwarf_path: dwarf.as_ref().map(|_| dwarf_path.to_path_buf()),
        dwarf,
        symbols,
        data,
        variables: None,
    })
}

const DEBUG_ROOT: &str = "/usr/lib/debug";

fn separate_debug_file<'d, R: object::ReadRef<'d>>(
    path: &Path,
    elf: &object::File<'d, R>,
) -> Option<PathBuf> {
    if let Ok(Some(id)) = elf.build_id() {
        if id.len() > 1 {
            let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
            let p = Path::new(DEBUG_ROOT)
                .join(".build-id")
                .join(&hex[..2])
                .join(format!("{}.debug", &hex[2..]));
            if p.is_file() {
                return Some(p);
            }
        }
    }
    if let Ok(Some((name, _crc))) = elf.gnu_debuglink() {
        let name = std::str::from_utf8(name).ok()?;
        let dir = path.parent()?;
        let candidates = [
            dir.join(name),
            dir.join(".debug").join(name),
            Path::new(DEBUG_ROOT)
                .join(dir.strip_prefix("/").unwrap_or(dir))
                .join(name),
        ];
        return candidates
            .into_iter()
            .find(|c| c.is_file() && c.as_path() != path);
    }
    None
}

/// Function or data symbols of one module.
///
/// # Invariants
/// - `entries` is sorted by `start`, one entry per start address: of
///   aliases, the name Valgrind would print (global, versioned `@@`, not
///   starting with `_`, shortest).
#[derive(Default)]
struct SymbolTable {
    entries: Vec<SymbolEntry>,
}

struct SymbolEntry {
    start: u64,
    /// Exclusive; `start + 1` for a symbol of unknown size.
    end: u64,
    name: String,
    rank: (bool, bool, bool, std::cmp::Reverse<usize>),
}

impl SymbolTable {
    fn read<'d, R: object::ReadRef<'d>>(
        file: &object::File<'d, R>,
        kind: object::SymbolKind,
    ) -> Self {
        let table = file
            .symbol_table()
            .filter(|t| t.symbols().next().is_some())
            .or_else(|| file.dynamic_symbol_table());
        let Some(table) = table else {
            return SymbolTable::default();
        };
        let mut entries: Vec<SymbolEntry> = table
            .symbols()
            .filter(|s| s.kind() == kind && s.is_definition())
            .filter_map(|s| {
                let name = s.name().ok().filter(|n| !n.is_empty())?.to_string();
                let rank = (
                    s.is_global(),
                    name.contains("@@"),
                    !name.starts_with('_'),
                    std::cmp::Reverse(name.len()),
                );
                Some(SymbolEntry {
                    start: s.address(),
                    end: s.address().saturating_add(s.size().max(1)),
                    name,
                    rank,
                })
            })
            .collect();
        // Best alias first within a start address, then keep only it.
        entries.sort_by(|a, b| a.start.cmp(&b.start).then(b.rank.cmp(&a.rank)));
        entries.dedup_by_key(|e| e.start);
        SymbolTable { entries }
    }

    /// The symbol whose range holds `probe`; of nested ones, the innermost.
    fn lookup(&self, probe: u64) -> Option<&str> {
        self.lookup_entry(probe).map(|e| e.name.as_str())
    }

    fn lookup_entry(&self, probe: u64) -> Option<&SymbolEntry> {
        let after = self.entries.partition_point(|e| e.start <= probe);
        self.entries[..after]
            .iter()
            .rev()
            .take(16)
            .find(|e| probe < e.end)
    }
}

fn split_location(
    location: Option<&addr2line::Location<'_>>,
) -> (Option<String>, Option<String>, Option<u32>) {
    let Some(loc) = location else {
        return (None, None, None);
    };
    let line = loc.line.filter(|l| *l > 0);
    match loc.file {
        None => (None, None, line),
        Some(path) => {
            let p = Path::new(path);
            let file = p.file_name().map(|f| f.to_string_lossy().into_owned());
            let dir = p
                .parent()
                .map(|d| d.to_string_lossy().into_owned())
                .filter(|d| !d.is_empty());
            match file {
                Some(file) => (dir, Some(file), line),
                None => (None, Some(path.to_string()), line),
            }
        }
    }
}

fn demangle_lang<'a>(name: &'a str, language: Option<addr2line::gimli::DwLang>) -> Cow<'a, str> {
    use addr2line::gimli;
    match language {
        Some(gimli::DW_LANG_Rust) => demangle_rust(name).map_or(Cow::Borrowed(name), Cow::Owned),
        Some(
            gimli::DW_LANG_C_plus_plus
            | gimli::DW_LANG_C_plus_plus_03
            | gimli::DW_LANG_C_plus_plus_11
            | gimli::DW_LANG_C_plus_plus_14,
        ) => demangle_cpp(name).map_or(Cow::Borrowed(name), Cow::Owned),
        _ => demangle(name),
    }
}

/// `demangle` for a symbol that may carry an ELF version (`name@@VER`):
/// the version stays as it is.
fn demangle_versioned(name: &str) -> String {
    match name.find('@') {
        Some(at) if at > 0 => format!("{}{}", demangle(&name[..at]), &name[at..]),
        _ => demangle(name).into_owned(),
    }
}

/// The readable form of a symbol name: Rust (v0 `_R…`, or legacy `_ZN…17h<hash>E`)
/// with rustc-demangle, without the hash; other `_Z…` names as C++ with
/// cpp_demangle; anything else (C, or a name that fails to demangle) unchanged.
pub fn demangle(name: &str) -> Cow<'_, str> {
    if name.starts_with("_R") || is_legacy_rust(name) {
        if let Some(s) = demangle_rust(name) {
            return Cow::Owned(s);
        }
    }
    if name.starts_with("_Z") {
        if let Some(s) = demangle_cpp(name) {
            return Cow::Owned(s);
        }
    }
    Cow::Borrowed(name)
}

fn demangle_rust(name: &str) -> Option<String> {
    rustc_demangle::try_demangle(name)
        .ok()
        .map(|d| format!("{d:#}"))
}

fn demangle_cpp(name: &str) -> Option<String> {
    cpp_demangle::Symbol::new(name)
        .ok()?
        .demangle(&cpp_demangle::DemangleOptions::default())
        .ok()
}

/// `_ZN…17h0123456789abcdefE`: legacy Rust mangling ends its path with a
/// 16-hex-digit hash component, which C++ names do not have.
fn is_legacy_rust(name: &str) -> bool {
    let core = name.split('.').next().unwrap_or(name);
    let Some(body) = core.strip_prefix("_ZN").and_then(|b| b.strip_suffix('E')) else {
        return false;
    };
    // Bytes, not chars: a name is not always ASCII.
    let body = body.as_bytes();
    body.len() >= 19 && {
        let tail = &body[body.len() - 19..];
        tail.starts_with(b"17h") && tail[3..].iter().all(u8::is_ascii_hexdigit)
    }
}

#[cfg(test)]
mod tests {
    use super::{demangle, is_legacy_rust};

    #[test]
    fn demangles_cpp_rust_and_leaves_c_alone() {
        assert_eq!(demangle("_ZN2ns3Foo3barEi"), "ns::Foo::bar(int)");
        assert_eq!(
            demangle("_ZN4core3ptr13drop_in_place17h0123456789abcdefE"),
            "core::ptr::drop_in_place"
        );
        assert_eq!(demangle("_RNvCs1234_7mycrate3foo"), "mycrate::foo");
        assert_eq!(demangle("worker"), "worker");
        assert_eq!(demangle("_Znot_really"), "_Znot_really");
        assert_eq!(
            demangle("pthread_create@@GLIBC_2.34"),
            "pthread_create@@GLIBC_2.34"
        );
    }

    #[test]
    fn legacy_rust_needs_the_hash() {
        assert!(is_legacy_rust("_ZN3foo3bar17h0123456789abcdefE"));
        assert!(!is_legacy_rust("_ZN2ns3Foo3barEv"));
        assert!(!is_legacy_rust(
            "_ZN\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}E"
        ));
        assert_eq!(
            demangle("_ZN\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}E"),
            "_ZN\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}E"
        );
    }
}
