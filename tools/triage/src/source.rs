//! Source excerpts: a few lines around an access, read from the file the
//! debug information names (`dir/file`), else found by its name under
//! `--source-dir`. A file that cannot be read gives no excerpt, silently:
//! triage runs where the sources are not.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hbgrind_report::FrameObject;

use crate::{Excerpt, TriageOptions};

pub(crate) struct SourceCache {
    dirs: Vec<PathBuf>,
    around: u32,
    files: HashMap<PathBuf, Option<Vec<String>>>,
}

impl SourceCache {
    pub(crate) fn new(options: &TriageOptions) -> Self {
        SourceCache {
            dirs: options.source_dirs.clone(),
            around: if options.context_lines == 0 {
                2
            } else {
                options.context_lines
            },
            files: HashMap::new(),
        }
    }

    fn candidates(&self, f: &FrameObject) -> Vec<PathBuf> {
        let Some(file) = &f.file else {
            return Vec::new();
        };
        let mut v = Vec::new();
        let name = Path::new(file);
        if let Some(dir) = &f.dir {
            v.push(Path::new(dir).join(name));
        }
        v.push(name.to_path_buf());
        for d in &self.dirs {
            v.push(d.join(name));
            if let Some(base) = name.file_name() {
                v.push(d.join(base));
            }
        }
        v
    }

    fn lines(&mut self, path: &Path) -> Option<&Vec<String>> {
        self.files
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                std::fs::read(path).ok().map(|b| {
                    String::from_utf8_lossy(&b)
                        .lines()
                        .map(str::to_string)
                        .collect()
                })
            })
            .as_ref()
    }

    /// The lines around `f`'s line, when its file can be read.
    pub(crate) fn excerpt(&mut self, f: &FrameObject) -> Option<Excerpt> {
        let line = f.line?;
        let around = self.around;
        for path in self.candidates(f) {
            let Some(lines) = self.lines(&path) else {
                continue;
            };
            if line == 0 || line as usize > lines.len() {
                continue;
            }
            let first = line.saturating_sub(around).max(1);
            let last = (line + around).min(lines.len() as u32);
            return Some(Excerpt {
                path: path.display().to_string(),
                first_line: first,
                lines: lines[(first - 1) as usize..last as usize].to_vec(),
                line,
            });
        }
        None
    }
}
