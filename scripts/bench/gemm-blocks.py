#!/usr/bin/env python3
# One single-threaded sgemm against the same product cut into Gemm.parallel's thread-independent blocks
# run in turn (what one thread does since the blocks stopped depending on the thread count), on
# bench-tiny's and bench-small's training shapes, through the system libopenblas (ctypes; numpy).
#   python3 scripts/bench/gemm-blocks.py      (OPENBLAS_CORETYPE as for Tessera: scripts/bench/openblas-kernel.sh)
import ctypes, subprocess, sys, time
try:
    import numpy as np
except ImportError:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "numpy"])
    import numpy as np
lib = ctypes.CDLL("libopenblas.so.0"); lib.openblas_set_num_threads(1)
P = ctypes.POINTER(ctypes.c_float)
def call(tA,tB,m,n,k,a,lda,b,ldb,c,ldc,beta):
    lib.cblas_sgemm(101,112 if tA else 111,112 if tB else 111,m,n,k,ctypes.c_float(1),ctypes.cast(a,P),lda,ctypes.cast(b,P),ldb,ctypes.c_float(beta),ctypes.cast(c,P),ldc)
def blocks(tA,tB,m,n,k,A,lda,B,ldb,C,ldc,beta):
    parts=16
    if m>=n:
        g=max(64,((m+parts-1)//parts+7)//8*8)
        for r0 in range(0,m,g):
            r=min(g,m-r0)
            a=A.ctypes.data+4*(r0 if tA else r0*lda)
            call(tA,tB,r,n,k,a,lda,B.ctypes.data,ldb,C.ctypes.data+4*r0*ldc,ldc,beta)
    else:
        g=max(64,((n+parts-1)//parts+7)//8*8)
        for c0 in range(0,n,g):
            c=min(g,n-c0)
            b=B.ctypes.data+4*(c0*ldb if tB else c0)
            call(tA,tB,m,c,k,A.ctypes.data,lda,b,ldb,C.ctypes.data+4*c0,ldc,beta)
def best(f,rep=5):
    f(); t=1e9
    for _ in range(rep):
        t0=time.perf_counter(); f(); t=min(t,time.perf_counter()-t0)
    return t
for name,M,d,h,V in [("tiny",2560,256,1024,5128),("small",4608,512,2048,66695)]:
    tot1=totb=0
    for (m,n,k,tA,tB) in [(M,3*d,d,False,True),(M,d,d,False,True),(M,h,d,False,True),(M,d,h,False,True),(M,V,d,False,True),
                          (M,d,V,False,False),(V,d,M,True,False),(M,d,h,False,False),(h,d,M,True,False)]:
        A=np.random.rand(*( (k,m) if tA else (m,k))).astype(np.float32)
        B=np.random.rand(*((n,k) if tB else (k,n))).astype(np.float32)
        C=np.zeros((m,n),np.float32)
        lda=m if tA else k; ldb=k if tB else n
        t1=best(lambda: call(tA,tB,m,n,k,A.ctypes.data,lda,B.ctypes.data,ldb,C.ctypes.data,n,0), 3)
        tb=best(lambda: blocks(tA,tB,m,n,k,A,lda,B,ldb,C,n,0), 3)
        tot1+=t1; totb+=tb
        print(f"{name} {m}x{n}x{k} tA={tA} tB={tB}: whole {t1*1e3:.1f} ms, blocks {tb*1e3:.1f} ms ({tb/t1:.3f}x)")
    print(f"{name} total: whole {tot1*1e3:.0f} ms, blocks {totb*1e3:.0f} ms ({totb/tot1:.3f}x)")
