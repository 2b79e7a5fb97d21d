//! argon2id password hashing on a fixed set of hashing threads.
//!
//! New hashes use m = 12 MiB, t = 3, p = 1: one of the argon2id settings the OWASP Password Storage
//! Cheat Sheet lists as equally strong (19 MiB with t = 2 is another). It costs about the same CPU
//! as 19 MiB with t = 2 and takes 7 MiB less memory per hash, which is what a login flood's peak is
//! made of. A stored hash keeps the parameters it was made with; a login that proves the password
//! against older parameters gets a new hash with today's ([`Verified::Rehashed`]).
//!
//! Each thread owns one argon2 memory area and reuses it while logins keep coming. Hashing on the
//! blocking pool instead let every short-lived blocking thread allocate its own area, and the
//! allocator kept each thread's arena: a few hundred logins took the server from 27 MiB to 600 MiB
//! and it never came back. With `n` threads the hashing memory is `n × 12 MiB` at most, and a thread
//! gives its area back when no job follows within `KEEP_AREA_FOR` (or another thread is already
//! waiting for the next job): an area that size is its own mapping, so the memory returns to the
//! system and an idle server is back at its size before the logins. A semaphore in front of the
//! threads keeps waiting logins in the async world, so a login flood queues there and cannot take
//! every core.
use std::{
    sync::{
        Arc, Mutex, OnceLock, TryLockError,
        atomic::{AtomicUsize, Ordering},
        mpsc::{self, RecvTimeoutError},
    },
    time::Duration,
};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{Output, ParamsString, SaltString, rand_core::OsRng},
};
use memmap2::MmapMut;
use tokio::sync::{Semaphore, oneshot};

use super::DomainError;

/// How much lower the hashing threads' CPU priority is than the requests' (Linux nice, added to the
/// process's own, at most 19). A core shared between a hash and a request gives the request its
/// time first: a login waits a little longer for its hash while other requests are busy, and the
/// requests of the candidates already logged in do not wait for a login flood.
pub const HASHING_NICE: i32 = 10;

/// Lowers the calling thread's CPU priority by `HASHING_NICE`. Best effort: where the system does
/// not allow it, the thread hashes at the normal priority.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    // SAFETY: `nice` takes and returns a plain integer; on Linux the nice value belongs to the calling
    // thread, so only this hashing thread changes.
    unsafe {
        libc::nice(HASHING_NICE);
    }
}

/// The memory (KiB), passes and lanes new hashes are made with.
const M_COST: u32 = 12 * 1024;
const T_COST: u32 = 3;
const P_COST: u32 = 1;

/// The parameters new hashes are made with.
fn params() -> Params {
    Params::new(M_COST, T_COST, P_COST, None).expect("valid argon2 parameters")
}

/// What checking a password against a stored hash found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// The password does not match, there was no hash, or the hash could not be read.
    No,
    /// The password matches a hash made with today's parameters.
    Yes,
    /// The password matches a hash made with other parameters; here is a new hash of it with
    /// today's, to store in place of the old one.
    Rehashed(String),
}

impl Verified {
    pub fn matches(&self) -> bool {
        !matches!(self, Verified::No)
    }
}

/// One unit of work for a hashing thread: it gets the thread's memory area.
type Job = Box<dyn FnOnce(&mut Area) + Send>;

/// A hashing thread's argon2 memory: an anonymous mapping of its own, counted in `held` while mapped.
/// Unmapping it gives the memory back to the system at once, which memory from the allocator would not
/// be (glibc keeps a thread's freed area in that thread's arena).
struct Area {
    map: Option<MmapMut>,
    held: Arc<AtomicUsize>,
}

impl Area {
    fn new(held: Arc<AtomicUsize>) -> Self {
        Self { map: None, held }
    }

    /// `blocks` blocks, mapped on first use and reused after (it only grows).
    fn get(&mut self, blocks: usize) -> Result<&mut [Block], String> {
        let bytes = blocks * std::mem::size_of::<Block>();
        if self.map.as_ref().is_none_or(|m| m.len() < bytes) {
            let map = MmapMut::map_anon(bytes).map_err(|e| format!("hashing memory: {e}"))?;
            if self.map.replace(map).is_none() {
                self.held.fetch_add(1, Ordering::Relaxed);
            }
        }
        let map = self.map.as_mut().expect("mapped above");
        let ptr = map.as_mut_ptr();
        debug_assert!(ptr.cast::<Block>().is_aligned() && map.len() >= bytes);
        // SAFETY: the mapping is page-aligned (more than `Block`'s 64 bytes), at least `bytes` long,
        // readable and writable, and borrowed mutably for the slice's lifetime; `Block` is plain
        // `[u64; 128]`, so every bit pattern (the mapping starts zeroed) is a valid `Block`.
        Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<Block>(), blocks) })
    }

    fn is_held(&self) -> bool {
        self.map.is_some()
    }

    /// Gives the memory back to the system.
    fn release(&mut self) {
        if self.map.take().is_some() {
            self.held.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// How long a hashing thread keeps its memory area for the next job after one.
const KEEP_AREA_FOR: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
    /// Memory areas the hashing threads hold now.
    areas: Arc<AtomicUsize>,
}

/// A hash of a random password, verified against when a username does not exist, so that a missing
/// account costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut memory = Area::new(Arc::default());
        hash_with(&mut memory, &rand::random::<[u8; 32]>()).expect("hashing")
    })
}

/// A new PHC string (`$argon2id$v=19$m=12288,t=3,p=1$salt$hash`) for `password`.
fn hash_with(memory: &mut Area, password: &[u8]) -> Result<String, String> {
    let params = params();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| e.to_string())?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password,
            salt_bytes,
            &mut out,
            memory.get(params.block_count())?,
        )
        .map_err(|e| e.to_string())?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash` (with the parameters stored in it), and, when it
/// does and those are not today's, a new hash of it made with today's.
fn verify_with(memory: &mut Area, password: &[u8], hash: &str) -> Verified {
    let mut check = || -> Option<(bool, bool)> {
        let parsed = PasswordHash::new(hash).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).ok()?;
        let expected = parsed.hash?;
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = parsed.salt?.decode_b64(&mut salt_bytes).ok()?;
        let mut out = vec![0u8; expected.len()];
        Argon2::new(algorithm, version, params.clone())
            .hash_password_into_with_memory(
                password,
                salt_bytes,
                &mut out,
                memory.get(params.block_count()).ok()?,
            )
            .ok()?;
        let current = algorithm == Algorithm::Argon2id
            && version == Version::V0x13
            && (params.m_cost(), params.t_cost(), params.p_cost()) == (M_COST, T_COST, P_COST)
            && expected.len() == Params::DEFAULT_OUTPUT_LEN;
        // `Output`'s equality is constant-time.
        Some((Output::new(&out).ok()? == expected, current))
    };
    match check() {
        Some((true, true)) => Verified::Yes,
        // Rehashing only after a match: a wrong password costs one hash whatever the stored one is.
        Some((true, false)) => match hash_with(memory, password) {
            Ok(new) => Verified::Rehashed(new),
            // The password matched; the old hash stays until a later login can replace it.
            Err(_) => Verified::Yes,
        },
        _ => Verified::No,
    }
}

impl Hasher {
    /// Starts `threads` hashing threads (at least one). They end when the last `Hasher` is dropped.
    pub fn new(threads: usize) -> Self {
        Self::keeping_areas(threads, KEEP_AREA_FOR)
    }

    /// `new`, with the time a thread keeps its area for a next job.
    fn keeping_areas(threads: usize, keep: Duration) -> Self {
        let threads = threads.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let areas = Arc::new(AtomicUsize::new(0));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            let areas = Arc::clone(&areas);
            std::thread::Builder::new()
                .name(format!("ips-hash-{i}"))
                .spawn(move || {
                    yield_to_requests();
                    let mut memory = Area::new(areas);
                    loop {
                        // The lock is held only while waiting for the next job, never while hashing.
                        if memory.is_held() {
                            // Keep the area for a job that follows soon, unless another thread is
                            // already waiting for it; else give the area back.
                            let next = match queue.try_lock() {
                                Ok(queue) => match queue.recv_timeout(keep) {
                                    Ok(job) => Some(job),
                                    Err(RecvTimeoutError::Timeout) => None,
                                    Err(RecvTimeoutError::Disconnected) => return,
                                },
                                Err(TryLockError::WouldBlock) => None,
                                Err(TryLockError::Poisoned(_)) => return,
                            };
                            match next {
                                Some(job) => job(&mut memory),
                                None => memory.release(),
                            }
                            continue;
                        }
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut memory),
                            Err(_) => return,
                        }
                    }
                })
                .expect("a hashing thread");
        }
        Self {
            permits: Arc::new(Semaphore::new(threads)),
            jobs,
            areas,
        }
    }

    /// Runs `work` on a hashing thread once one is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Area) -> T + Send + 'static,
    ) -> Result<T, DomainError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |memory: &mut Area| {
                let _ = tx.send(work(memory));
            }))
            .map_err(|_| DomainError::Internal("the hashing threads have stopped".into()))?;
        rx.await
            .map_err(|_| DomainError::Internal("a hashing thread stopped".into()))
    }

    pub async fn hash(&self, password: &str) -> Result<String, DomainError> {
        let password = password.to_string();
        self.run(move |memory| hash_with(memory, password.as_bytes()))
            .await?
            .map_err(DomainError::Internal)
    }

    /// Verifies `password` against `hash`, or against a dummy hash when there is none (the same
    /// work, so a missing account answers as slowly as a wrong password).
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Verified {
        let found = hash.is_some();
        let hash = hash.unwrap_or_else(|| dummy_hash()).to_string();
        let password = password.to_string();
        match self
            .run(move |memory| verify_with(memory, password.as_bytes(), &hash))
            .await
        {
            Ok(verified) if found => verified,
            _ => Verified::No,
        }
    }

    /// How many argon2 memory areas the hashing threads hold now (0 when idle).
    pub fn areas_held(&self) -> usize {
        self.areas.load(Ordering::Relaxed)
    }

    /// Computes the dummy hash ahead of the first login, so that the first miss is not faster.
    pub fn warm_up(&self) {
        let _ = dummy_hash();
    }
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[tokio::test]
    async fn hashes_are_standard_phc_strings_both_ways() {
        let hasher = Hasher::new(2);
        let ours = hasher.hash("correct horse").await.unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=12288,t=3,p=1$"),
            "{ours}"
        );
        // The argon2 crate's own verifier accepts our hash …
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong horse", &parsed)
                .is_err()
        );
        assert_eq!(
            hasher.verify("correct horse", Some(&ours)).await,
            Verified::Yes
        );
        assert_eq!(hasher.verify("correct horse", None).await, Verified::No);
        assert_eq!(
            hasher.verify("correct horse", Some("not a hash")).await,
            Verified::No
        );
        assert_eq!(hasher.verify("", Some(&ours)).await, Verified::No);
    }

    #[tokio::test]
    async fn hashes_with_other_parameters_are_verified_and_remade() {
        let hasher = Hasher::new(1);
        // Stored hashes keep their parameters: the ones made before today's (19 MiB, t = 2), and
        // other tools' (here the argon2 crate's, 8 MiB, t = 3, a 16-byte output).
        let older = |m, t, len| {
            Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(m, t, 1, Some(len)).unwrap(),
            )
            .hash_password(b"battery staple", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
        };
        for theirs in [older(19 * 1024, 2, 32), older(8 * 1024, 3, 16)] {
            assert_eq!(
                hasher.verify("battery stapler", Some(&theirs)).await,
                Verified::No,
                "a wrong password is not rehashed"
            );
            let Verified::Rehashed(new) = hasher.verify("battery staple", Some(&theirs)).await
            else {
                panic!("a match with other parameters gets a new hash: {theirs}");
            };
            assert!(new.starts_with("$argon2id$v=19$m=12288,t=3,p=1$"), "{new}");
            assert_eq!(
                hasher.verify("battery staple", Some(&new)).await,
                Verified::Yes
            );
            assert_eq!(
                hasher.verify("battery stapler", Some(&new)).await,
                Verified::No
            );
        }
        // argon2i and argon2d hashes are remade as argon2id.
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(M_COST, T_COST, P_COST, None).unwrap(),
        )
        .hash_password(b"battery staple", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert!(matches!(
            hasher.verify("battery staple", Some(&argon2i)).await,
            Verified::Rehashed(new) if new.starts_with("$argon2id$")
        ));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_below_the_requests() {
        let hasher = Hasher::new(1);
        // The thread has lowered its priority before it takes its first job.
        hasher.hash("one").await.unwrap();
        let nice_of = |stat: &str| -> i32 {
            // Fields after the command's closing parenthesis start at the 3rd; nice is the 19th.
            let fields = stat.rsplit_once(')').unwrap().1;
            fields.split_whitespace().nth(16).unwrap().parse().unwrap()
        };
        // The test's own thread stands for a request's: it keeps the process's priority.
        let own = nice_of(&std::fs::read_to_string("/proc/thread-self/stat").unwrap());
        let mut seen = 0;
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let path = task.unwrap().path();
            let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
            if !name.starts_with("ips-hash-") {
                continue;
            }
            let nice = nice_of(&std::fs::read_to_string(path.join("stat")).unwrap());
            assert_eq!(nice, (own + HASHING_NICE).min(19), "{}", name.trim());
            seen += 1;
        }
        assert!(seen >= 1, "no hashing thread found");
    }

    #[tokio::test]
    async fn idle_threads_give_their_memory_back() {
        // Kept for the next job: the area is counted before the hash's answer is sent.
        let keeping = Hasher::keeping_areas(1, Duration::from_secs(3600));
        assert_eq!(keeping.areas_held(), 0, "nothing before the first hash");
        let a = keeping.hash("one").await.unwrap();
        assert_eq!(keeping.areas_held(), 1, "the area is kept for the next job");
        assert!(keeping.verify("one", Some(&a)).await.matches());
        assert_eq!(keeping.areas_held(), 1, "and reused");

        // Given back when no job follows: wait (up to 30 s) until both threads have.
        let hasher = Hasher::keeping_areas(2, Duration::ZERO);
        let (a, b) = tokio::join!(hasher.hash("one"), hasher.hash("two"));
        let (a, b) = (a.unwrap(), b.unwrap());
        for _ in 0..300 {
            if hasher.areas_held() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(hasher.areas_held(), 0, "idle threads hold no memory");
        // The threads still work after giving their areas back.
        assert_eq!(hasher.verify("one", Some(&a)).await, Verified::Yes);
        assert_eq!(hasher.verify("two", Some(&b)).await, Verified::Yes);
        assert_eq!(hasher.verify("two", Some(&a)).await, Verified::No);
    }
}
