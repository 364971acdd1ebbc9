"""Publishing signed repositories: one tree that serves apt and dnf clients.

Layout of REPO (what clients and web servers see)::

    REPO/apt     -> .repack/current/apt      dists/<codename>[-<channel>]/..., pool/main/...
    REPO/yum     -> .repack/current/yum      <target_id>[_<channel>]/{*.rpm, repodata/}
    REPO/keys    -> .repack/current/keys     <name>.asc, <name>.gpg (all published keys)
    REPO/client  -> .repack/current/client   <name>.sources, <name>.repo
    REPO/.repack/current -> gen-000042       swapped by one atomic symlink rename
    REPO/.repack/gen-N/apt/pool              each generation's own apt pool (hard links)
    REPO/.repack/gen-N/generation.json       when and by what command it was made
    REPO/.repack/lock                        fcntl lock: one publisher at a time

A publish (repack.publish.tree.transaction) takes the lock, hard-links the current
generation's files into a staging directory (the apt pool is recycled from the retired
generation, not copied: see repack.publish.tree), lets each family's publisher update the
staged copy, writes keys/ and client/, then renames the staging directory to gen-N and swaps
``current``.  A reader sees the old tree or the new one; a publisher killed at any point
leaves ``current`` whole, and the next publish deletes the leftovers.  A rollback stages a
copy of the generation before the live one instead (repack.publish.publisher.rollback).
Channels (testing, ...) are more suites and yum directories: repack.publish.channels.

Each package family's side of the tree (apt for "deb", yum for "rpm") implements one
contract, repack.publish.families.FamilyPublisher (add, promote, removal, remove, prune, sign,
verify, packages); the commands find it in families.PUBLISHERS by the target's family.
"""
