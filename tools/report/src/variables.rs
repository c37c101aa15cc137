//! Global variables of a module, from its DWARF (through gimli), so a racy
//! address can be described as `Location 0x… is 8 bytes inside global var
//! "table"` / `declared at file.c:12`, as Helgrind does with
//! `--read-var-info=yes`.
//!
//! Only variables at a fixed address count: `DW_TAG_variable` whose location
//! is a single `DW_OP_addr` (or `DW_OP_addrx`), which covers globals and
//! function-level statics; TLS and stack variables have other locations.
//!
//! # Invariants
//! - `VariableIndex::vars` is sorted by address; a variable covers
//!   `[addr, addr + size)`, `size` at least 1.
//! - Reading never fails loudly: a module whose DWARF gimli cannot read has
//!   an empty index, and the caller falls back to data symbols.

use std::borrow::Cow;
use std::path::Path;

use addr2line::gimli;
use object::{Object, ObjectSection};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Variable {
    pub addr: u64,
    pub size: u64,
    pub name: String,
    pub declared_at: Option<(String, u32)>,
    /// The parts of the variable whose type is a C11 `_Atomic` type or a
    /// C++ `std::atomic` (the whole variable, its array elements, or fields
    /// of a struct, at any depth): locations the program only accesses
    /// atomically, as (offset in the variable, size, element size).
    pub atomic: Vec<(u64, u64, u64)>,
}

#[derive(Debug, Default)]
pub(crate) struct VariableIndex {
    vars: Vec<Variable>,
}

impl VariableIndex {
    /// The variables of the ELF file at `path` (the module or its separate
    /// debug file).
    pub(crate) fn read(path: &Path) -> Self {
        let mut vars = std::fs::read(path)
            .ok()
            .and_then(|data| read_variables(&data))
            .unwrap_or_default();
        vars.sort_by_key(|v| v.addr);
        VariableIndex { vars }
    }

    /// The atomic variables: (file address, size, element size).
    pub(crate) fn atomics(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.vars.iter().flat_map(|v| {
            v.atomic
                .iter()
                .map(move |&(offset, size, element)| (v.addr + offset, size, element))
        })
    }

    /// The variable holding file address `addr`; of overlapping ones, the
    /// one starting last.
    pub(crate) fn lookup(&self, addr: u64) -> Option<&Variable> {
        let after = self.vars.partition_point(|v| v.addr <= addr);
        self.vars[..after]
            .iter()
            .rev()
            .take(16)
            .find(|v| addr < v.addr.saturating_add(v.size))
    }
}

/// Whether the ELF file at `path` has a non-empty `.debug_info` (read
/// through the section table, without reading or mapping the file).
pub(crate) fn has_debug_info(path: &Path) -> bool {
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let cache = object::ReadCache::new(f);
    let Ok(file) = object::File::parse(&cache) else {
        return false;
    };
    file.section_by_name(".debug_info")
        .is_some_and(|s| s.size() > 0)
}

type Reader<'a> = gimli::EndianSlice<'a, gimli::RunTimeEndian>;

fn read_variables(data: &[u8]) -> Option<Vec<Variable>> {
    let file = object::File::parse(data).ok()?;
    let endian = if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    let load = |id: gimli::SectionId| -> Result<Cow<'_, [u8]>, gimli::Error> {
        Ok(file
            .section_by_name(id.name())
            .and_then(|s| s.uncompressed_data().ok())
            .unwrap_or(Cow::Borrowed(&[])))
    };
    let sections = gimli::DwarfSections::load(load).ok()?;
    let dwarf = sections.borrow(|s| gimli::EndianSlice::new(s, endian));
    let mut out = Vec::new();
    let mut headers = dwarf.units();
    while let Ok(Some(header)) = headers.next() {
        let Ok(unit) = dwarf.unit(header) else {
            continue;
        };
        let unit = unit.unit_ref(&dwarf);
        let mut struct_parts = StructParts::default();
        let mut entries = unit.entries();
        while let Ok(Some((_, entry))) = entries.next_dfs() {
            if entry.tag() != gimli::DW_TAG_variable {
                continue;
            }
            let Some(addr) = fixed_address(unit, entry) else {
                continue;
            };
            // A definition may carry only its location and point at the
            // declaration (C++ static members, `extern` globals) for the rest.
            let decl = match entry.attr_value(gimli::DW_AT_specification) {
                Ok(Some(gimli::AttributeValue::UnitRef(offset))) => unit.entry(offset).ok(),
                _ => None,
            };
            let described = decl.as_ref().unwrap_or(entry);
            let Some(name) = string_attr(unit, entry, gimli::DW_AT_name)
                .or_else(|| string_attr(unit, described, gimli::DW_AT_name))
            else {
                continue;
            };
            let declared_at = declaration(unit, entry).or_else(|| declaration(unit, described));
            let size = type_size(unit, entry)
                .or_else(|| type_size(unit, described))
                .unwrap_or(1)
                .max(1);
            let mut atomic = Vec::new();
            let ty = type_ref(entry).or_else(|| type_ref(described));
            if let Some(ty) = ty {
                atomic_parts(unit, ty, 0, 0, &mut struct_parts, &mut atomic);
            }
            out.push(Variable {
                addr,
                size,
                name,
                declared_at,
                atomic,
            });
        }
    }
    Some(out)
}

type Entry<'abbrev, 'unit, 'a> = gimli::DebuggingInformationEntry<'abbrev, 'unit, Reader<'a>>;

fn fixed_address<'a>(
    unit: gimli::UnitRef<'_, Reader<'a>>,
    entry: &Entry<'_, '_, 'a>,
) -> Option<u64> {
    let gimli::AttributeValue::Exprloc(expr) = entry.attr_value(gimli::DW_AT_location).ok()??
    else {
        return None;
    };
    let mut ops = expr.operations(unit.encoding());
    let first = ops.next().ok()??;
    if ops.next().ok()?.is_some() {
        return None; // `addr + offset`, TLS and the like: not a plain global
    }
    match first {
        gimli::Operation::Address { address } => Some(address),
        gimli::Operation::AddressIndex { index } => unit.address(index).ok(),
        _ => None,
    }
}

fn string_attr<'a>(
    unit: gimli::UnitRef<'_, Reader<'a>>,
    entry: &Entry<'_, '_, 'a>,
    at: gimli::DwAt,
) -> Option<String> {
    let value = entry.attr_value(at).ok()??;
    let s = unit.attr_string(value).ok()?;
    Some(s.to_string_lossy().into_owned())
}

/// `DW_AT_decl_file`/`DW_AT_decl_line` as (file name without directory, line).
fn declaration<'a>(
    unit: gimli::UnitRef<'_, Reader<'a>>,
    entry: &Entry<'_, '_, 'a>,
) -> Option<(String, u32)> {
    let line = entry
        .attr_value(gimli::DW_AT_decl_line)
        .ok()??
        .udata_value()?;
    let index = match entry.attr_value(gimli::DW_AT_decl_file).ok()?? {
        gimli::AttributeValue::FileIndex(i) => i,
        other => other.udata_value()?,
    };
    let program = unit.line_program.as_ref()?;
    let file = program.header().file(index)?;
    let path = unit.attr_string(file.path_name()).ok()?;
    let path = path.to_string_lossy();
    let name = Path::new(path.as_ref())
        .file_name()?
        .to_string_lossy()
        .into_owned();
    Some((name, u32::try_from(line).ok()?))
}

/// The byte size of the entry's type: through typedefs and qualifiers to a
/// type with `DW_AT_byte_size`, arrays multiplied out.
fn type_size<'a>(unit: gimli::UnitRef<'_, Reader<'a>>, entry: &Entry<'_, '_, 'a>) -> Option<u64> {
    let mut offset = type_ref(entry)?;
    let mut count = 1u64;
    for _ in 0..16 {
        let ty = unit.entry(offset).ok()?;
        if let Some(size) = ty
            .attr_value(gimli::DW_AT_byte_size)
            .ok()?
            .and_then(|v| v.udata_value())
        {
            return count.checked_mul(size);
        }
        if ty.tag() == gimli::DW_TAG_array_type {
            count = count.checked_mul(array_length(unit, &ty)?)?;
        }
        offset = type_ref(&ty)?;
    }
    None
}

/// Atomic parts found per struct type of a unit, by the type's offset.
type StructParts = std::collections::HashMap<usize, Vec<(u64, u64, u64)>>;

/// At most this many atomic parts per variable (a huge array of structs
/// with atomic fields is left at that).
const MAX_ATOMIC_PARTS: usize = 4096;

/// The entry's `DW_AT_type`, when it points into the same unit.
fn type_ref(entry: &Entry<'_, '_, '_>) -> Option<gimli::UnitOffset> {
    match entry.attr_value(gimli::DW_AT_type).ok()?? {
        gimli::AttributeValue::UnitRef(o) => Some(o),
        _ => None,
    }
}

/// Whether a struct or class name is libstdc++'s atomic type.
fn is_std_atomic(name: &str) -> bool {
    ["atomic<", "__atomic_base<", "__atomic_float<"]
        .iter()
        .any(|p| name.starts_with(p))
        || name == "atomic_flag"
}

/// Appends to `out` the atomic parts of a value of the type at `offset`
/// placed at `base`: through typedefs and qualifiers, a C11 `_Atomic` type
/// (`DW_TAG_atomic_type`) or libstdc++'s `atomic<T>`, `__atomic_base<T>`,
/// `__atomic_float<T>`, `atomic_flag` is one part; an array of them one
/// part of its elements' size; other arrays, structs, classes and unions
/// the parts of their elements and members, at any depth up to 8 (CPython's
/// `_PyRuntime.ceval.gil_drop_request`: a `_Py_atomic_int` struct wrapping
/// an `atomic_int`, inside two structs). Pointers are not followed.
fn atomic_parts<'a>(
    unit: gimli::UnitRef<'_, Reader<'a>>,
    mut offset: gimli::UnitOffset,
    base: u64,
    depth: u32,
    cache: &mut StructParts,
    out: &mut Vec<(u64, u64, u64)>,
) {
    if depth > 8 || out.len() >= MAX_ATOMIC_PARTS {
        return;
    }
    for _ in 0..16 {
        let Ok(ty) = unit.entry(offset) else { return };
        let byte_size = ty
            .attr_value(gimli::DW_AT_byte_size)
            .ok()
            .flatten()
            .and_then(|v| v.udata_value());
        match ty.tag() {
            gimli::DW_TAG_atomic_type => {
                if let Some(size) = type_size(unit, &ty) {
                    out.push((base, size, size));
                }
                return;
            }
            gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type | gimli::DW_TAG_union_type => {
                let name = string_attr(unit, &ty, gimli::DW_AT_name);
                if name.as_deref().is_some_and(is_std_atomic) {
                    if let Some(size) = byte_size {
                        out.push((base, size, size));
                    }
                    return;
                }
                let key = offset.0;
                if !cache.contains_key(&key) {
                    // Placeholder first: a type reached again inside itself
                    // (through an array of itself, which C forbids) adds nothing.
                    cache.insert(key, Vec::new());
                    let mut parts = Vec::new();
                    member_parts(unit, &ty, depth, cache, &mut parts);
                    cache.insert(key, parts);
                }
                for &(o, size, element) in &cache[&key] {
                    if out.len() >= MAX_ATOMIC_PARTS {
                        return;
                    }
                    out.push((base + o, size, element));
                }
                return;
            }
            gimli::DW_TAG_array_type => {
                let (Some(n), Some(element_size), Some(element_type)) =
                    (array_length(unit, &ty), type_size(unit, &ty), type_ref(&ty))
                else {
                    return;
                };
                let mut one = Vec::new();
                atomic_parts(unit, element_type, 0, depth + 1, cache, &mut one);
                match one.as_slice() {
                    [] => {}
                    &[(0, size, element)] if size == element_size => {
                        out.push((base, element_size.saturating_mul(n), element));
                    }
                    parts => {
                        for i in 0..n {
                            for &(o, size, element) in parts {
                                if out.len() >= MAX_ATOMIC_PARTS {
                                    return;
                                }
                                out.push((base + i * element_size + o, size, element));
                            }
                        }
                    }
                }
                return;
            }
            gimli::DW_TAG_typedef | gimli::DW_TAG_const_type | gimli::DW_TAG_volatile_type => {}
            _ => return,
        }
        let Some(next) = type_ref(&ty) else { return };
        offset = next;
    }
}

/// The atomic parts of a struct's (or union's) members, at their offsets.
fn member_parts<'a>(
    unit: gimli::UnitRef<'_, Reader<'a>>,
    ty: &Entry<'_, '_, 'a>,
    depth: u32,
    cache: &mut StructParts,
    out: &mut Vec<(u64, u64, u64)>,
) {
    let Ok(mut tree) = unit.entries_tree(Some(ty.offset())) else {
        return;
    };
    let Ok(root) = tree.root() else { return };
    let mut children = root.children();
    while let Ok(Some(child)) = children.next() {
        let member = child.entry();
        if member.tag() != gimli::DW_TAG_member
            || member
                .attr_value(gimli::DW_AT_bit_size)
                .ok()
                .flatten()
                .is_some()
        {
            continue;
        }
        let location = match member.attr_value(gimli::DW_AT_data_member_location) {
            Ok(Some(v)) => v.udata_value(),
            // A union's members, and C's first member, may have none.
            Ok(None) => Some(0),
            Err(_) => None,
        };
        if let (Some(at), Some(member_type)) = (location, type_ref(member)) {
            atomic_parts(unit, member_type, at, depth + 1, cache, out);
        }
    }
}

/// Elements of an array type: the product of its subranges' lengths.
fn array_length<'a>(
    unit: gimli::UnitRef<'_, Reader<'a>>,
    array: &Entry<'_, '_, 'a>,
) -> Option<u64> {
    let mut tree = unit.entries_tree(Some(array.offset())).ok()?;
    let root = tree.root().ok()?;
    let mut children = root.children();
    let mut total = 1u64;
    while let Ok(Some(child)) = children.next() {
        let e = child.entry();
        if e.tag() != gimli::DW_TAG_subrange_type {
            continue;
        }
        let n = if let Some(c) = e
            .attr_value(gimli::DW_AT_count)
            .ok()?
            .and_then(|v| v.udata_value())
        {
            c
        } else {
            let upper = e
                .attr_value(gimli::DW_AT_upper_bound)
                .ok()??
                .udata_value()?;
            let lower = e
                .attr_value(gimli::DW_AT_lower_bound)
                .ok()?
                .and_then(|v| v.udata_value())
                .unwrap_or(0);
            upper.checked_sub(lower)?.checked_add(1)?
        };
        total = total.checked_mul(n)?;
    }
    Some(total)
}
