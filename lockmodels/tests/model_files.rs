//! The model file format: the shipped files parse, the pthread file is the
//! table the Rust model was before it became a file, and every malformed
//! line is refused with its `file:line` (one test per `LineError`).

use lockmodels::{
    builtin_models, pthread, Effect, LineError, LockModel, LockModelError, Operand, RetCondition,
    When, BUILTIN_MODELS,
};

#[test]
fn every_shipped_model_parses() {
    for (name, text) in BUILTIN_MODELS {
        let model = LockModel::parse(name, text).unwrap_or_else(|e| panic!("{e}"));
        assert!(!model.functions.is_empty(), "{name}");
    }
    assert_eq!(builtin_models().len(), BUILTIN_MODELS.len());
    assert_eq!(pthread().name, "pthread.model");
}

/// One row of a model table: (symbol, quiet, effects).
type Row = (&'static str, bool, Vec<(When, Effect)>);

/// The pthread table as `lockmodels/src/pthread.rs` had it in Rust before
/// it became `models/pthread.model`, plus the robust mutexes' EOWNERDEAD.
fn old_pthread_table() -> Vec<Row> {
    use Effect::*;
    use When::{Entry, Exit};
    let a = Operand::arg;
    let ok = When::EXIT_ON_SUCCESS;
    let lock = || {
        vec![(
            ok,
            Lock {
                lock: a(0),
                trylock: false,
            },
        )]
    };
    let trylock = || {
        vec![(
            ok,
            Lock {
                lock: a(0),
                trylock: true,
            },
        )]
    };
    let rw = |write, trylock| {
        vec![(
            ok,
            RwLock {
                lock: a(0),
                write,
                trylock,
            },
        )]
    };
    let init = || vec![(Entry, Init { object: a(0) })];
    let destroy = || vec![(Entry, Destroy { object: a(0) })];
    let release = || vec![(Entry, Release { object: a(0) })];
    let acquire = || vec![(ok, Acquire { object: a(0) })];
    let join = || vec![(ok, Join { thread: a(0) })];
    let spin = || vec![(Entry, InitOrUnlock { lock: a(0) })];
    // Issue 16: EOWNERDEAD (130) from a robust mutex also hands it over.
    let owner_dead = When::ExitIf(RetCondition {
        equal: true,
        value: 130,
        wide: false,
    });
    let mutex_lock = |trylock| {
        [ok, owner_dead]
            .into_iter()
            .map(|when| {
                (
                    when,
                    Lock {
                        lock: a(0),
                        trylock,
                    },
                )
            })
            .collect::<Vec<_>>()
    };
    let cond_wait = || {
        vec![
            (Entry, Unlock { lock: a(1) }),
            (ok, Acquire { object: a(0) }),
            (
                Exit,
                Lock {
                    lock: a(1),
                    trylock: true,
                },
            ),
        ]
    };
    vec![
        ("pthread_mutex_init", true, init()),
        ("pthread_mutex_lock", true, mutex_lock(false)),
        ("pthread_mutex_timedlock", true, mutex_lock(false)),
        ("pthread_mutex_clocklock", true, mutex_lock(false)),
        ("pthread_mutex_trylock", true, mutex_lock(true)),
        (
            "pthread_mutex_unlock",
            true,
            vec![(Entry, Unlock { lock: a(0) })],
        ),
        ("pthread_mutex_destroy", true, destroy()),
        ("pthread_spin_init", true, spin()),
        ("pthread_spin_lock", true, lock()),
        ("pthread_spin_trylock", true, trylock()),
        ("pthread_spin_unlock", true, spin()),
        ("pthread_spin_destroy", true, destroy()),
        ("pthread_rwlock_init", true, init()),
        ("pthread_rwlock_rdlock", true, rw(false, false)),
        ("pthread_rwlock_timedrdlock", true, rw(false, false)),
        ("pthread_rwlock_clockrdlock", true, rw(false, false)),
        ("pthread_rwlock_tryrdlock", true, rw(false, true)),
        ("pthread_rwlock_wrlock", true, rw(true, false)),
        ("pthread_rwlock_timedwrlock", true, rw(true, false)),
        ("pthread_rwlock_clockwrlock", true, rw(true, false)),
        ("pthread_rwlock_trywrlock", true, rw(true, true)),
        (
            "pthread_rwlock_unlock",
            true,
            vec![(Entry, RwUnlock { lock: a(0) })],
        ),
        ("pthread_rwlock_destroy", true, destroy()),
        ("pthread_cond_init", true, init()),
        ("pthread_cond_signal", true, release()),
        ("pthread_cond_broadcast", true, release()),
        ("pthread_cond_wait", true, cond_wait()),
        ("pthread_cond_timedwait", true, cond_wait()),
        ("pthread_cond_clockwait", true, cond_wait()),
        ("pthread_cond_destroy", true, destroy()),
        (
            "pthread_barrier_init",
            true,
            vec![(
                Entry,
                BarrierInit {
                    barrier: a(0),
                    count: a(2),
                },
            )],
        ),
        (
            "pthread_barrier_wait",
            true,
            vec![(Entry, BarrierWait { barrier: a(0) })],
        ),
        ("pthread_barrier_destroy", true, destroy()),
        ("sem_init", true, init()),
        ("sem_post", true, release()),
        ("sem_wait", true, acquire()),
        ("sem_trywait", true, acquire()),
        ("sem_timedwait", true, acquire()),
        ("sem_clockwait", true, acquire()),
        ("sem_destroy", true, destroy()),
        ("pthread_create", true, vec![(ok, Spawned { handle: a(0) })]),
        (
            "pthread_once",
            false,
            vec![(Entry, AtomicWord { object: a(0) })],
        ),
        ("pthread_join", true, join()),
        ("pthread_timedjoin_np", true, join()),
        ("pthread_clockjoin_np", true, join()),
        ("pthread_tryjoin_np", true, join()),
        ("pthread_detach", true, vec![(ok, Detach { thread: a(0) })]),
    ]
}

#[test]
fn the_pthread_file_is_the_old_pthread_table() {
    let old = old_pthread_table();
    let new = &pthread().functions;
    assert_eq!(new.len(), old.len());
    for ((symbol, quiet, effects), f) in old.into_iter().zip(new) {
        assert_eq!(f.symbol, symbol);
        assert_eq!(f.quiet, quiet, "{symbol}");
        assert_eq!(f.effects, effects, "{symbol}");
    }
}

#[test]
fn operands_conditions_and_flags_parse() {
    let text = "# a comment\n\
                \n\
                f1: lock *(arg1 + 0x10) at exit if ret != NULL  # trailing comment\n\
                f2 loud: release &my_global at entry; acquire arg2 - 8 at exit if ret == -1\n\
                f3: quiet\n\
                f4: join *arg0 at exit if ret == TRUE\n\
                f5: cond-wait arg0 arg1\n\
                f6 atomic: acquire &ev at exit\n";
    let m = LockModel::parse("t.model", text).unwrap();
    let f = |s| m.function(s).unwrap();
    assert_eq!(
        f("f1").effects,
        [(
            When::ExitIf(RetCondition {
                equal: false,
                value: 0,
                wide: true
            }),
            Effect::Lock {
                lock: Operand::Deref {
                    index: 1,
                    offset: 16
                },
                trylock: false
            }
        )]
    );
    assert!(!f("f2").quiet && !f("f2").atomic);
    assert!(!f("f6").quiet && f("f6").atomic, "atomic is loud too");
    assert!(f("f1").quiet && !f("f1").atomic);
    assert_eq!(
        f("f2").effects,
        [
            (
                When::Entry,
                Effect::Release {
                    object: Operand::Symbol("my_global".into())
                }
            ),
            (
                When::ExitIf(RetCondition {
                    equal: true,
                    value: u64::MAX,
                    wide: false
                }),
                Effect::Acquire {
                    object: Operand::Arg {
                        index: 2,
                        offset: -8
                    }
                }
            ),
        ]
    );
    assert_eq!(f("f2").symbols().collect::<Vec<_>>(), ["my_global"]);
    assert!(f("f3").quiet && f("f3").effects.is_empty());
    assert_eq!(
        f("f4").effects[0].1,
        Effect::Join {
            thread: Operand::Deref {
                index: 0,
                offset: 0
            }
        }
    );
    assert_eq!(f("f5").effects.len(), 3);
    assert_eq!(
        f("f5").effects[1].0,
        When::Exit,
        "a void wait acquires on every return"
    );
    // ret == -1 compares the low 32 bits, as for an int.
    let minus_one = RetCondition {
        equal: true,
        value: u64::MAX,
        wide: false,
    };
    assert!(minus_one.holds(0xffff_ffff));
}

#[test]
fn a_later_model_replaces_a_function_of_the_same_symbol() {
    let mut all = pthread().clone();
    let user = LockModel::parse(
        "u.model",
        "pthread_mutex_lock: quiet\nmy_lock: lock arg0 at exit\n",
    )
    .unwrap();
    all.merge(user);
    assert!(all
        .function("pthread_mutex_lock")
        .unwrap()
        .effects
        .is_empty());
    assert!(all.function("my_lock").is_some());
    assert_eq!(all.functions.len(), pthread().functions.len() + 1);
}

/// The error for `line` (preceded by a comment and a good line, so the
/// line number is 3), checked to print as `bad.model:3: ...`.
fn error_of(line: &str) -> LineError {
    let text = format!("# header\ngood: unlock arg0 at entry\n{line}\n");
    match LockModel::parse("bad.model", &text) {
        Err(LockModelError::Syntax {
            file,
            line: 3,
            error,
        }) => {
            assert_eq!(file, "bad.model");
            let shown = LockModelError::Syntax {
                file,
                line: 3,
                error: error.clone(),
            }
            .to_string();
            assert!(shown.starts_with("bad.model:3: "), "{shown}");
            assert_eq!(shown.lines().count(), 1, "{shown}");
            error
        }
        other => panic!("{line:?}: {other:?}"),
    }
}

#[test]
fn a_line_without_a_colon_is_refused() {
    assert_eq!(error_of("my_lock lock arg0 at exit"), LineError::NoColon);
}

#[test]
fn a_bad_symbol_is_refused() {
    assert_eq!(
        error_of("9lives: unlock arg0 at entry"),
        LineError::BadSymbol("9lives".into())
    );
    assert_eq!(
        error_of(": unlock arg0 at entry"),
        LineError::BadSymbol(String::new())
    );
}

#[test]
fn an_unknown_flag_is_refused() {
    assert_eq!(
        error_of("f noisy: unlock arg0 at entry"),
        LineError::UnknownFlag("noisy".into())
    );
    assert_eq!(
        error_of("f loud loud: unlock arg0 at entry"),
        LineError::UnknownFlag("loud".into())
    );
    assert_eq!(
        error_of("f loud atomic: unlock arg0 at entry"),
        LineError::UnknownFlag("atomic".into())
    );
    assert_eq!(error_of("f atomic: quiet"), LineError::QuietAlone);
}

#[test]
fn an_empty_effect_is_refused() {
    assert_eq!(error_of("f:"), LineError::EmptyEffect);
    assert_eq!(error_of("f: unlock arg0 at entry;"), LineError::EmptyEffect);
    assert_eq!(
        error_of("f: ; unlock arg0 at entry"),
        LineError::EmptyEffect
    );
}

#[test]
fn quiet_with_loud_or_effects_is_refused() {
    assert_eq!(error_of("f loud: quiet"), LineError::QuietAlone);
    assert_eq!(
        error_of("f: quiet; unlock arg0 at entry"),
        LineError::UnknownAction("quiet".into())
    );
}

#[test]
fn an_unknown_action_is_refused() {
    assert_eq!(
        error_of("f: grab arg0 at exit"),
        LineError::UnknownAction("grab".into())
    );
    assert_eq!(
        error_of("f: 7 arg0 at exit"),
        LineError::UnknownAction("7".into())
    );
}

#[test]
fn a_wrong_number_of_operands_is_refused() {
    assert_eq!(
        error_of("f: lock at exit"),
        LineError::OperandCount {
            action: "lock".into(),
            expected: 1,
            found: 0
        }
    );
    assert_eq!(
        error_of("f: cond-wait arg0"),
        LineError::OperandCount {
            action: "cond-wait".into(),
            expected: 2,
            found: 1
        }
    );
}

#[test]
fn a_bad_operand_is_refused() {
    assert!(matches!(
        error_of("f: lock mutex at exit"),
        LineError::BadOperand(_)
    ));
    assert!(matches!(
        error_of("f: lock *(arg0 + 8 at exit"),
        LineError::BadOperand(_)
    ));
    assert!(matches!(
        error_of("f: lock arg0 + x at exit"),
        LineError::BadOperand(_)
    ));
    assert!(matches!(
        error_of("f: lock & at exit"),
        LineError::BadOperand(_)
    ));
    assert!(matches!(
        error_of("f: lock 12zz at exit"),
        LineError::BadOperand(_)
    ));
}

#[test]
fn an_argument_past_the_registers_is_refused() {
    assert_eq!(
        error_of("f: lock arg6 at exit"),
        LineError::ArgumentIndex(6)
    );
    assert_eq!(
        error_of("f: lock *(arg9 + 8) at exit"),
        LineError::ArgumentIndex(9)
    );
}

#[test]
fn an_effect_without_its_point_is_refused() {
    assert_eq!(
        error_of("f: lock arg0"),
        LineError::MissingPoint("lock".into())
    );
}

#[test]
fn a_bad_point_is_refused() {
    assert_eq!(
        error_of("f: lock arg0 at return"),
        LineError::BadPoint("return".into())
    );
    assert_eq!(
        error_of("f: lock arg0 at"),
        LineError::BadPoint(String::new())
    );
}

#[test]
fn a_condition_at_entry_is_refused() {
    assert_eq!(
        error_of("f: unlock arg0 at entry if ret == 0"),
        LineError::ConditionAtEntry
    );
    assert_eq!(
        error_of("f: unlock arg0 if ret == 0"),
        LineError::ConditionAtEntry
    );
}

#[test]
fn a_bad_condition_is_refused() {
    for cond in [
        "ret 0",
        "rax == 0",
        "ret ==",
        "ret == maybe",
        "ret == -NULL",
    ] {
        assert!(
            matches!(
                error_of(&format!("f: lock arg0 at exit if {cond}")),
                LineError::BadCondition(_)
            ),
            "{cond}"
        );
    }
}

#[test]
fn trailing_text_is_refused() {
    assert_eq!(
        error_of("f: lock arg0 at exit please"),
        LineError::Trailing("please".into())
    );
    assert_eq!(
        error_of("f: cond-wait arg0 arg1 at exit"),
        LineError::Trailing("at exit".into())
    );
}

#[test]
fn a_bad_character_is_refused() {
    assert_eq!(
        error_of("f: lock arg0 at exit if ret >= 0"),
        LineError::BadCharacter('>')
    );
    assert_eq!(
        error_of("f: lock arg0 \u{fffd} at exit"),
        LineError::BadCharacter('\u{fffd}')
    );
}

#[test]
fn a_duplicate_function_is_refused() {
    assert_eq!(
        error_of("good: lock arg0 at exit"),
        LineError::Duplicate {
            symbol: "good".into(),
            first_line: 2
        }
    );
}

#[test]
fn a_malformed_file_stops_at_its_first_bad_line() {
    let err = LockModel::parse("x.model", "a: lock arg0 at exit\nb: nope\nc: nope\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "x.model:2: unknown action `nope`; the actions are lock trylock unlock rdlock tryrdlock \
         wrlock trywrlock rwunlock release acquire init destroy init-or-unlock barrier-init \
         barrier-wait join detach spawned atomic cond-wait"
    );
}
