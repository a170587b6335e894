// oneDNN's C API (Debian's libdnnl-dev 2.6, built on GNU OpenMP) for bf16 products and convolutions.
#include <oneapi/dnnl/dnnl.h>

// The OpenMP team size oneDNN uses for the calling thread; omp.h is not on clang's include path,
// and these two are all Tessera needs of it.
void omp_set_num_threads(int);
int omp_get_max_threads(void);
