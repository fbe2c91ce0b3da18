"""Evaluation: PSNR / MS-SSIM, BD-rate, the classic anchors and `strata eval`."""
