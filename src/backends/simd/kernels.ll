; Fused kernels of tfjs-rlhf for WebAssembly SIMD128 (the source of src/backends/simd-module.ts).
;
; Scalar loops over float32 arrays in the tfjs-backend-wasm heap (pointers are heap byte offsets);
; `opt -O3` vectorises them to f32x4 (reductions carry `reassoc`). F(x) is a float32 constant, written
; out as LLVM's hex form by scripts/build-simd.mjs, which also runs opt and llc (LLVM 14) and writes
; the module as base64. The math mirrors src/backends/fused-math.ts, in float32 throughout.

target datalayout = "e-m:e-p:32:32-p10:8:8-p20:8:8-i64:64-n32:64-S128-ni:1:10:20"
target triple = "wasm32-unknown-unknown"

declare float @llvm.sqrt.f32(float)

; tanh(u) to float32 accuracy: Eigen's [13/6] rational on |u| <= 7.905 (u clamped there: tanh is
; +-1 to float32 beyond it).
define internal float @tanh_rational(float %u0) alwaysinline {
  %cl = fcmp olt float %u0, F(-7.90531110763549805)
  %lo = select i1 %cl, float F(-7.90531110763549805), float %u0
  %ch = fcmp ogt float %lo, F(7.90531110763549805)
  %u = select i1 %ch, float F(7.90531110763549805), float %lo
  %x2 = fmul float %u, %u
  %p6 = fmul float %x2, F(-2.76076847742355e-16)
  %p5 = fadd float %p6, F(2.00018790482477e-13)
  %p5m = fmul float %p5, %x2
  %p4 = fadd float %p5m, F(-8.60467152213735e-11)
  %p4m = fmul float %p4, %x2
  %p3 = fadd float %p4m, F(5.12229709037114e-8)
  %p3m = fmul float %p3, %x2
  %p2 = fadd float %p3m, F(1.48572235717979e-5)
  %p2m = fmul float %p2, %x2
  %p1 = fadd float %p2m, F(6.37261928875436e-4)
  %p1m = fmul float %p1, %x2
  %p0 = fadd float %p1m, F(4.89352455891786e-3)
  %p = fmul float %p0, %u
  %q2 = fmul float %x2, F(1.19825839466702e-6)
  %q1 = fadd float %q2, F(1.18534705686654e-4)
  %q1m = fmul float %q1, %x2
  %q0 = fadd float %q1m, F(2.268434632439e-3)
  %q0m = fmul float %q0, %x2
  %q = fadd float %q0m, F(4.89352518554385e-3)
  %th = fdiv float %p, %q
  ret float %th
}

; GELU (tanh form): y = 0.5 x (1 + t), t = tanh(c (x + a x^3)); t is kept for the backward.
define void @gelu_forward(float* noalias %x, float* noalias %y, float* noalias %t, i32 %n) #0 {
entry:
  %go = icmp sgt i32 %n, 0
  br i1 %go, label %loop, label %done
loop:
  %i = phi i32 [0, %entry], [%i1, %loop]
  %px = getelementptr inbounds float, float* %x, i32 %i
  %v = load float, float* %px, align 4
  %v2 = fmul float %v, %v
  %v3 = fmul float %v2, %v
  %av3 = fmul float %v3, F(0.044715)
  %s = fadd float %v, %av3
  %u = fmul float %s, F(0.7978845608028654)
  %th = call float @tanh_rational(float %u)
  %pt = getelementptr inbounds float, float* %t, i32 %i
  store float %th, float* %pt, align 4
  %one = fadd float %th, 1.0
  %hv = fmul float %v, 0.5
  %r = fmul float %hv, %one
  %py = getelementptr inbounds float, float* %y, i32 %i
  store float %r, float* %py, align 4
  %i1 = add nuw nsw i32 %i, 1
  %more = icmp slt i32 %i1, %n
  br i1 %more, label %loop, label %done
done:
  ret void
}

; dx = dy (0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)).
define void @gelu_backward(float* noalias %dy, float* noalias %x, float* noalias %t, float* noalias %dx, i32 %n) #1 {
entry:
  %go = icmp sgt i32 %n, 0
  br i1 %go, label %loop, label %done
loop:
  %i = phi i32 [0, %entry], [%i1, %loop]
  %px = getelementptr inbounds float, float* %x, i32 %i
  %v = load float, float* %px, align 4
  %pt = getelementptr inbounds float, float* %t, i32 %i
  %th = load float, float* %pt, align 4
  %pdy = getelementptr inbounds float, float* %dy, i32 %i
  %g = load float, float* %pdy, align 4
  %one = fadd float %th, 1.0
  %left = fmul float %one, 0.5
  %th2 = fmul float %th, %th
  %sech = fsub float 1.0, %th2
  %v2 = fmul float %v, %v
  %a3v2 = fmul float %v2, F(0.134145)
  %inner = fadd float %a3v2, 1.0
  %hc = fmul float %v, F(0.3989422804014327)
  %r0 = fmul float %hc, %sech
  %right = fmul float %r0, %inner
  %d = fadd float %left, %right
  %r = fmul float %g, %d
  %pdx = getelementptr inbounds float, float* %dx, i32 %i
  store float %r, float* %pdx, align 4
  %i1 = add nuw nsw i32 %i, 1
  %more = icmp slt i32 %i1, %n
  br i1 %more, label %loop, label %done
done:
  ret void
}

; One AdamW update: g = g gs, m' = m + (g - m) c1, v' = v + (g^2 - v) c2, w' = w decay - step m' / (sqrt(v') + eps).
define void @adamw(float* noalias %w, float* noalias %m, float* noalias %v, float* noalias %g, float* noalias %wo, float* noalias %mo, float* noalias %vo, i32 %n,
                   float %c1, float %c2, float %step, float %eps, float %decay, float %gs) #2 {
entry:
  %go = icmp sgt i32 %n, 0
  br i1 %go, label %loop, label %done
loop:
  %i = phi i32 [0, %entry], [%i1, %loop]
  %pg = getelementptr inbounds float, float* %g, i32 %i
  %g0 = load float, float* %pg, align 4
  %gi = fmul float %g0, %gs
  %pm = getelementptr inbounds float, float* %m, i32 %i
  %mi = load float, float* %pm, align 4
  %pv = getelementptr inbounds float, float* %v, i32 %i
  %vi = load float, float* %pv, align 4
  %dm = fsub float %gi, %mi
  %dmc = fmul float %dm, %c1
  %mn = fadd float %mi, %dmc
  %g2 = fmul float %gi, %gi
  %dv = fsub float %g2, %vi
  %dvc = fmul float %dv, %c2
  %vn = fadd float %vi, %dvc
  %pmo = getelementptr inbounds float, float* %mo, i32 %i
  store float %mn, float* %pmo, align 4
  %pvo = getelementptr inbounds float, float* %vo, i32 %i
  store float %vn, float* %pvo, align 4
  %sq = call float @llvm.sqrt.f32(float %vn)
  %den = fadd float %sq, %eps
  %num = fmul float %mn, %step
  %upd = fdiv float %num, %den
  %pw = getelementptr inbounds float, float* %w, i32 %i
  %wi = load float, float* %pw, align 4
  %wd = fmul float %wi, %decay
  %wn = fsub float %wd, %upd
  %pwo = getelementptr inbounds float, float* %wo, i32 %i
  store float %wn, float* %pwo, align 4
  %i1 = add nuw nsw i32 %i, 1
  %more = icmp slt i32 %i1, %n
  br i1 %more, label %loop, label %done
done:
  ret void
}

; LayerNorm over rows of d: xhat = (x - mean) rstd, rstd = 1 / sqrt(var + eps), y = xhat gamma + beta.
define void @layernorm_forward(float* noalias %x, float* noalias %gamma, float* noalias %beta, float %eps, i32 %rows, i32 %d,
                               float* noalias %y, float* noalias %xhat, float* noalias %rstd) #3 {
entry:
  %go = icmp sgt i32 %rows, 0
  %dpos = icmp sgt i32 %d, 0
  %both = and i1 %go, %dpos
  %df = sitofp i32 %d to float
  br i1 %both, label %row, label %done
row:
  %r = phi i32 [0, %entry], [%r1, %row.end]
  %o = mul nsw i32 %r, %d
  %xr = getelementptr inbounds float, float* %x, i32 %o
  br label %sum
sum:
  %j = phi i32 [0, %row], [%j1, %sum]
  %acc = phi float [0.0, %row], [%acc1, %sum]
  %pxj = getelementptr inbounds float, float* %xr, i32 %j
  %xj = load float, float* %pxj, align 4
  %acc1 = fadd reassoc float %acc, %xj
  %j1 = add nuw nsw i32 %j, 1
  %jm = icmp slt i32 %j1, %d
  br i1 %jm, label %sum, label %sum.end
sum.end:
  %mean = fdiv float %acc1, %df
  br label %var
var:
  %k = phi i32 [0, %sum.end], [%k1, %var]
  %vacc = phi float [0.0, %sum.end], [%vacc1, %var]
  %pxk = getelementptr inbounds float, float* %xr, i32 %k
  %xk = load float, float* %pxk, align 4
  %c = fsub float %xk, %mean
  %c2 = fmul float %c, %c
  %vacc1 = fadd reassoc float %vacc, %c2
  %k1 = add nuw nsw i32 %k, 1
  %km = icmp slt i32 %k1, %d
  br i1 %km, label %var, label %var.end
var.end:
  %vr = fdiv float %vacc1, %df
  %ve = fadd float %vr, %eps
  %sd = call float @llvm.sqrt.f32(float %ve)
  %rs = fdiv float 1.0, %sd
  %prs = getelementptr inbounds float, float* %rstd, i32 %r
  store float %rs, float* %prs, align 4
  %hr = getelementptr inbounds float, float* %xhat, i32 %o
  %yr = getelementptr inbounds float, float* %y, i32 %o
  br label %out
out:
  %l = phi i32 [0, %var.end], [%l1, %out]
  %pxl = getelementptr inbounds float, float* %xr, i32 %l
  %xl = load float, float* %pxl, align 4
  %cl = fsub float %xl, %mean
  %h = fmul float %cl, %rs
  %phl = getelementptr inbounds float, float* %hr, i32 %l
  store float %h, float* %phl, align 4
  %pgl = getelementptr inbounds float, float* %gamma, i32 %l
  %gl = load float, float* %pgl, align 4
  %pbl = getelementptr inbounds float, float* %beta, i32 %l
  %bl = load float, float* %pbl, align 4
  %hg = fmul float %h, %gl
  %yl = fadd float %hg, %bl
  %pyl = getelementptr inbounds float, float* %yr, i32 %l
  store float %yl, float* %pyl, align 4
  %l1 = add nuw nsw i32 %l, 1
  %lm = icmp slt i32 %l1, %d
  br i1 %lm, label %out, label %row.end
row.end:
  %r1 = add nuw nsw i32 %r, 1
  %rm = icmp slt i32 %r1, %rows
  br i1 %rm, label %row, label %done
done:
  ret void
}

; LayerNorm backward: dxhat = dy gamma, dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)),
; dgamma = sum_rows(dy xhat), dbeta = sum_rows(dy) (dgamma and dbeta are zeroed first).
define void @layernorm_backward(float* noalias %dy, float* noalias %xhat, float* noalias %rstd, float* noalias %gamma, i32 %rows, i32 %d,
                                float* noalias %dx, float* noalias %dgamma, float* noalias %dbeta) #4 {
entry:
  %dpos = icmp sgt i32 %d, 0
  %df = sitofp i32 %d to float
  br i1 %dpos, label %zero, label %done
zero:
  %z = phi i32 [0, %entry], [%z1, %zero]
  %pdgz = getelementptr inbounds float, float* %dgamma, i32 %z
  store float 0.0, float* %pdgz, align 4
  %pdbz = getelementptr inbounds float, float* %dbeta, i32 %z
  store float 0.0, float* %pdbz, align 4
  %z1 = add nuw nsw i32 %z, 1
  %zm = icmp slt i32 %z1, %d
  br i1 %zm, label %zero, label %zero.end
zero.end:
  %go = icmp sgt i32 %rows, 0
  br i1 %go, label %row, label %done
row:
  %r = phi i32 [0, %zero.end], [%r1, %row.end]
  %o = mul nsw i32 %r, %d
  %dyr = getelementptr inbounds float, float* %dy, i32 %o
  %hr = getelementptr inbounds float, float* %xhat, i32 %o
  br label %sum
sum:
  %j = phi i32 [0, %row], [%j1, %sum]
  %m1 = phi float [0.0, %row], [%m1n, %sum]
  %m2 = phi float [0.0, %row], [%m2n, %sum]
  %pgj = getelementptr inbounds float, float* %dyr, i32 %j
  %gj = load float, float* %pgj, align 4
  %phj = getelementptr inbounds float, float* %hr, i32 %j
  %hj = load float, float* %phj, align 4
  %pgam = getelementptr inbounds float, float* %gamma, i32 %j
  %gam = load float, float* %pgam, align 4
  %dh = fmul float %gj, %gam
  %m1n = fadd reassoc float %m1, %dh
  %dhh = fmul float %dh, %hj
  %m2n = fadd reassoc float %m2, %dhh
  %pdg = getelementptr inbounds float, float* %dgamma, i32 %j
  %dg = load float, float* %pdg, align 4
  %gh = fmul float %gj, %hj
  %dgn = fadd float %dg, %gh
  store float %dgn, float* %pdg, align 4
  %pdb = getelementptr inbounds float, float* %dbeta, i32 %j
  %db = load float, float* %pdb, align 4
  %dbn = fadd float %db, %gj
  store float %dbn, float* %pdb, align 4
  %j1 = add nuw nsw i32 %j, 1
  %jm = icmp slt i32 %j1, %d
  br i1 %jm, label %sum, label %sum.end
sum.end:
  %mean1 = fdiv float %m1n, %df
  %mean2 = fdiv float %m2n, %df
  %prs = getelementptr inbounds float, float* %rstd, i32 %r
  %rs = load float, float* %prs, align 4
  %dxr = getelementptr inbounds float, float* %dx, i32 %o
  br label %out
out:
  %l = phi i32 [0, %sum.end], [%l1, %out]
  %pgl = getelementptr inbounds float, float* %dyr, i32 %l
  %gl = load float, float* %pgl, align 4
  %pgaml = getelementptr inbounds float, float* %gamma, i32 %l
  %gaml = load float, float* %pgaml, align 4
  %dhl = fmul float %gl, %gaml
  %phl = getelementptr inbounds float, float* %hr, i32 %l
  %hl = load float, float* %phl, align 4
  %hm2 = fmul float %hl, %mean2
  %a = fsub float %dhl, %mean1
  %b = fsub float %a, %hm2
  %dxl = fmul float %b, %rs
  %pdxl = getelementptr inbounds float, float* %dxr, i32 %l
  store float %dxl, float* %pdxl, align 4
  %l1 = add nuw nsw i32 %l, 1
  %lm = icmp slt i32 %l1, %d
  br i1 %lm, label %out, label %row.end
row.end:
  %r1 = add nuw nsw i32 %r, 1
  %rm = icmp slt i32 %r1, %rows
  br i1 %rm, label %row, label %done
done:
  ret void
}

attributes #0 = { "wasm-export-name"="gelu_forward" }
attributes #1 = { "wasm-export-name"="gelu_backward" }
attributes #2 = { "wasm-export-name"="adamw" }
attributes #3 = { "wasm-export-name"="layernorm_forward" }
attributes #4 = { "wasm-export-name"="layernorm_backward" }
