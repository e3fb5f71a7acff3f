//! Publishing artifacts to a branch of the fleet repository with git plumbing, so that the
//! operator's checkout, index and current branch are never touched; and [`head`], the
//! commit a release records when none is given.

use std::path::Path;
use std::process::Command;

/// A git command that failed.
#[derive(Debug, thiserror::Error)]
#[error("git {args}: {message}")]
pub struct GitError {
    /// The git arguments.
    pub args: String,
    /// What went wrong.
    pub message: String,
}

/// The commit checked out in the current directory (`git rev-parse HEAD`), if there is one.
pub fn head() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Commits `files` (name in the tree → content) on top of `branch` of the repository at
/// `repo` (creating the branch if needed) and returns the new commit id.
pub fn commit_files(
    repo: &Path,
    branch: &str,
    files: &[(&str, &[u8])],
    message: &str,
) -> Result<String, GitError> {
    let index = tempfile_path(repo)?;
    let parent = git(
        repo,
        &[
            "rev-parse",
            "--verify",
            "-q",
            &format!("refs/heads/{branch}^{{commit}}"),
        ],
        None,
        None,
    )
    .ok();
    let result = (|| {
        if let Some(parent) = &parent {
            git(repo, &["read-tree", parent], Some(&index), None)?;
        }
        for (name, content) in files {
            let blob = git(repo, &["hash-object", "-w", "--stdin"], None, Some(content))?;
            git(
                repo,
                &[
                    "update-index",
                    "--add",
                    "--cacheinfo",
                    &format!("100644,{blob},{name}"),
                ],
                Some(&index),
                None,
            )?;
        }
        let tree = git(repo, &["write-tree"], Some(&index), None)?;
        let mut args = vec!["commit-tree", tree.as_str(), "-m", message];
        if let Some(parent) = &parent {
            args.extend(["-p", parent.as_str()]);
        }
        let commit = git(repo, &args, None, None)?;
        let old = parent
            .as_deref()
            .unwrap_or("0000000000000000000000000000000000000000");
        git(
            repo,
            &["update-ref", &format!("refs/heads/{branch}"), &commit, old],
            None,
            None,
        )?;
        Ok(commit)
    })();
    let _ = std::fs::remove_file(&index);
    result
}

fn tempfile_path(repo: &Path) -> Result<std::path::PathBuf, GitError> {
    let git_dir = git(repo, &["rev-parse", "--absolute-git-dir"], None, None)?;
    Ok(Path::new(&git_dir).join(format!("convoy-release-index-{}", std::process::id())))
}

fn git(
    repo: &Path,
    args: &[&str],
    index: Option<&Path>,
    stdin: Option<&[u8]>,
) -> Result<String, GitError> {
    use std::io::Write;
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(repo).args(args);
    if let Some(index) = index {
        cmd.env("GIT_INDEX_FILE", index);
    }
    // Commits by CI need an identity even on a bare machine.
    for (k, v) in [
        ("GIT_AUTHOR_NAME", "convoy-release"),
        ("GIT_AUTHOR_EMAIL", "convoy-release@localhost"),
    ] {
        if std::env::var_os(k).is_none() {
            cmd.env(k, v);
            cmd.env(k.replace("AUTHOR", "COMMITTER"), v);
        }
    }
    let err = |message: String| GitError {
        args: args.join(" "),
        message,
    };
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| err(e.to_string()))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input).map_err(|e| err(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| err(e.to_string()))?;
    if !out.status.success() {
        return Err(err(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
