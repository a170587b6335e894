# Sourced by the comparison scripts after the release build: Tessera's GEMMs run on the OpenBLAS
# kernel set this CPU supports, as scripts/reproduce.sh and `tessera train`'s note arrange
# (OpenBLAS 0.3.21 falls back to generic SSE3 kernels on CPUs newer than itself); PyTorch brings its
# own BLAS. A kernel set by the caller is kept.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  better=$(.build/release/tessera bench kernel --suggested)
  # An if, not `[ … ] && export`: where OpenBLAS already picks the right kernel (Zen, say) the test
  # fails, and a failing last command would end a sourcing script that runs under `set -e`.
  if [ -n "$better" ]; then export OPENBLAS_CORETYPE=$better; fi
fi
