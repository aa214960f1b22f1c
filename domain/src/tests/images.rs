//! Images and the kernels and ramdisks they name.

use super::samples::*;
use super::*;
use crate::command::*;

#[test]
fn an_image_needs_a_visible_kernel_of_the_right_kind() {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(4)).unwrap();
    let wrong_kind =
        image_cmd(ImageId::with_kind(ImageKind::Machine, 9), ImageKind::Machine, Some(default_image()));
    assert_eq!(g.when(&Command::RegisterImage(wrong_kind)), Err(DecideError::ImageNotFound(default_image())));
    let again = image_cmd(default_image(), ImageKind::Machine, None);
    assert_eq!(g.when(&Command::RegisterImage(again)), Err(DecideError::ImageExists(default_image())));
}
