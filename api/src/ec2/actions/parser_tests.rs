//! One test per action's parser: see the next commit.
