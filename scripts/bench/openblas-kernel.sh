# Sourced by the comparison scripts after the release build: Tessera's GEMMs run on the OpenBLAS
# kernel set this CPU supports, as scripts/reproduce.sh and `tessera train`'s note arrange
# (OpenBLAS 0.3.21 falls back to generic SSE3 kernels on CPUs newer than itself); PyTorch brings its
# own BLAS. A kernel set by the caller is kept.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  better=$(.build/release/tessera bench kernel --suggested)
  [ -n "$better" ] && export OPENBLAS_CORETYPE=$better
fi
