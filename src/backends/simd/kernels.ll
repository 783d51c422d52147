; Fused kernels of tfjs-rlhf for WebAssembly SIMD128 (the source of src/backends/simd-module.ts).
;
; Scalar loops over float32 arrays in the tfjs-backend-wasm heap (pointers are heap byte offsets);
; `opt -O3` vectorises them to f32x4 (reductions carry `reassoc`). F(x) is a float32 constant, written
; out as LLVM's hex form by scripts/build-simd.mjs, which also runs opt and llc (LLVM 14) and writes
; the module as base64. The math mirrors src/backends/fused-math.ts, in float32 throughout.

target datalayout = "e-m:e-p:32:32-p10:8:8-p20:8:8-i64:64-n32:64-S128-ni:1:10:20"
target triple = "wasm32-unknown-unknown"

declare float @llvm.sqrt.f32(float)
declare float @llvm.nearbyint.f32(float)

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

; exp(x) to float32 accuracy (Cephes' expf): x = n ln2 + r, |r| <= ln2/2, a degree-6 polynomial in r,
; scaled by 2^n built in the exponent bits. x is clamped to [-87.3, 88.7] (results below 2^-126 are not
; produced: what would underflow gives ~1e-38 instead of 0).
define internal float @exp_poly(float %x0) alwaysinline {
  %cl = fcmp olt float %x0, F(-87.3)
  %lo = select i1 %cl, float F(-87.3), float %x0
  %ch = fcmp ogt float %lo, F(88.7)
  %x = select i1 %ch, float F(88.7), float %lo
  %xl = fmul float %x, F(1.4426950408889634)
  %n = call float @llvm.nearbyint.f32(float %xl)
  %h = fmul float %n, F(0.693359375)
  %r0 = fsub float %x, %h
  %l = fmul float %n, F(-2.12194440e-4)
  %r = fsub float %r0, %l
  %p5 = fmul float %r, F(1.9875691500e-4)
  %p4 = fadd float %p5, F(1.3981999507e-3)
  %p4m = fmul float %p4, %r
  %p3 = fadd float %p4m, F(8.3334519073e-3)
  %p3m = fmul float %p3, %r
  %p2 = fadd float %p3m, F(4.1665795894e-2)
  %p2m = fmul float %p2, %r
  %p1 = fadd float %p2m, F(1.6666665459e-1)
  %p1m = fmul float %p1, %r
  %p0 = fadd float %p1m, F(5.0000001201e-1)
  %r2 = fmul float %r, %r
  %pr = fmul float %p0, %r2
  %y0 = fadd float %pr, %r
  %y = fadd float %y0, 1.0
  %ni = fptosi float %n to i32
  %e = add i32 %ni, 127
  %bits = shl i32 %e, 23
  %scale = bitcast i32 %bits to float
  %res = fmul float %y, %scale
  ret float %res
}

; Per row of logits [rows, V]: its maximum (into mx) and sum_j exp(logits - max) (into sum). The caller
; forms lse = max + log(sum).
define void @row_max_sumexp(float* noalias %logits, i32 %rows, i32 %V, float* noalias %mx, float* noalias %sum) #5 {
entry:
  %go = icmp sgt i32 %rows, 0
  %vpos = icmp sgt i32 %V, 0
  %both = and i1 %go, %vpos
  br i1 %both, label %row, label %done
row:
  %r = phi i32 [0, %entry], [%r1, %row.end]
  %o = mul nsw i32 %r, %V
  %lr = getelementptr inbounds float, float* %logits, i32 %o
  br label %max
max:
  %j = phi i32 [0, %row], [%j1, %max]
  %m = phi float [0xFFF0000000000000, %row], [%m1, %max]
  %pj = getelementptr inbounds float, float* %lr, i32 %j
  %xj = load float, float* %pj, align 4
  %gt = fcmp fast ogt float %xj, %m
  %m1 = select fast i1 %gt, float %xj, float %m
  %j1 = add nuw nsw i32 %j, 1
  %jm = icmp slt i32 %j1, %V
  br i1 %jm, label %max, label %max.end
max.end:
  %pm = getelementptr inbounds float, float* %mx, i32 %r
  store float %m1, float* %pm, align 4
  br label %sumexp
sumexp:
  %k = phi i32 [0, %max.end], [%k1, %sumexp]
  %acc = phi float [0.0, %max.end], [%acc1, %sumexp]
  %pk = getelementptr inbounds float, float* %lr, i32 %k
  %xk = load float, float* %pk, align 4
  %d = fsub float %xk, %m1
  %ex = call float @exp_poly(float %d)
  %acc1 = fadd reassoc float %acc, %ex
  %k1 = add nuw nsw i32 %k, 1
  %km = icmp slt i32 %k1, %V
  br i1 %km, label %sumexp, label %row.end
row.end:
  %ps = getelementptr inbounds float, float* %sum, i32 %r
  store float %acc1, float* %ps, align 4
  %r1 = add nuw nsw i32 %r, 1
  %rm = icmp slt i32 %r1, %rows
  br i1 %rm, label %row, label %done
done:
  ret void
}

; dl[r, j] = -dy[r] exp(logits[r, j] - lse[r]) (the caller adds dy[r] at each row's target).
define void @neg_scaled_softmax(float* noalias %dy, float* noalias %logits, float* noalias %lse, i32 %rows, i32 %V, float* noalias %dl) #6 {
entry:
  %go = icmp sgt i32 %rows, 0
  %vpos = icmp sgt i32 %V, 0
  %both = and i1 %go, %vpos
  br i1 %both, label %row, label %done
row:
  %r = phi i32 [0, %entry], [%r1, %row.end]
  %o = mul nsw i32 %r, %V
  %lr = getelementptr inbounds float, float* %logits, i32 %o
  %dr = getelementptr inbounds float, float* %dl, i32 %o
  %pg = getelementptr inbounds float, float* %dy, i32 %r
  %g = load float, float* %pg, align 4
  %ng = fneg float %g
  %pl = getelementptr inbounds float, float* %lse, i32 %r
  %l = load float, float* %pl, align 4
  br label %loop
loop:
  %j = phi i32 [0, %row], [%j1, %loop]
  %pj = getelementptr inbounds float, float* %lr, i32 %j
  %xj = load float, float* %pj, align 4
  %d = fsub float %xj, %l
  %ex = call float @exp_poly(float %d)
  %v = fmul float %ng, %ex
  %pd = getelementptr inbounds float, float* %dr, i32 %j
  store float %v, float* %pd, align 4
  %j1 = add nuw nsw i32 %j, 1
  %jm = icmp slt i32 %j1, %V
  br i1 %jm, label %loop, label %row.end
row.end:
  %r1 = add nuw nsw i32 %r, 1
  %rm = icmp slt i32 %r1, %rows
  br i1 %rm, label %row, label %done
done:
  ret void
}

; Column sums of x [rows, cols] into out [cols], accumulated in float64: four columns at a time down
; the rows (f64x2 pairs), then the columns left over one at a time.
define void @column_sums(float* noalias %x, i32 %rows, i32 %cols, float* noalias %out) #7 {
entry:
  %c4 = and i32 %cols, -4
  %anyv = icmp sgt i32 %c4, 0
  br i1 %anyv, label %vblock, label %tail.start
vblock:
  %c = phi i32 [0, %entry], [%cn, %vblock.end]
  br label %vrow.check
vrow.check:
  %rpos = icmp sgt i32 %rows, 0
  br i1 %rpos, label %vrow, label %vblock.end0
vrow:
  %r = phi i32 [0, %vrow.check], [%r1, %vrow]
  %acc = phi <4 x double> [zeroinitializer, %vrow.check], [%acc1, %vrow]
  %ro = mul nsw i32 %r, %cols
  %i = add nsw i32 %ro, %c
  %p = getelementptr inbounds float, float* %x, i32 %i
  %pv = bitcast float* %p to <4 x float>*
  %v = load <4 x float>, <4 x float>* %pv, align 4
  %vd = fpext <4 x float> %v to <4 x double>
  %acc1 = fadd <4 x double> %acc, %vd
  %r1 = add nuw nsw i32 %r, 1
  %rm = icmp slt i32 %r1, %rows
  br i1 %rm, label %vrow, label %vblock.end
vblock.end0:
  br label %vblock.end
vblock.end:
  %accf = phi <4 x double> [zeroinitializer, %vblock.end0], [%acc1, %vrow]
  %sf = fptrunc <4 x double> %accf to <4 x float>
  %po = getelementptr inbounds float, float* %out, i32 %c
  %pov = bitcast float* %po to <4 x float>*
  store <4 x float> %sf, <4 x float>* %pov, align 4
  %cn = add nuw nsw i32 %c, 4
  %cm = icmp slt i32 %cn, %c4
  br i1 %cm, label %vblock, label %tail.start
tail.start:
  %tc0 = phi i32 [0, %entry], [%c4, %vblock.end]
  %anyt = icmp slt i32 %tc0, %cols
  br i1 %anyt, label %tcol, label %done
tcol:
  %tc = phi i32 [%tc0, %tail.start], [%tcn, %tcol.end]
  br label %trow.check
trow.check:
  %trpos = icmp sgt i32 %rows, 0
  br i1 %trpos, label %trow, label %tcol.end
trow:
  %tr = phi i32 [0, %trow.check], [%tr1, %trow]
  %tacc = phi double [0.0, %trow.check], [%tacc1, %trow]
  %tro = mul nsw i32 %tr, %cols
  %ti = add nsw i32 %tro, %tc
  %tp = getelementptr inbounds float, float* %x, i32 %ti
  %tv = load float, float* %tp, align 4
  %tvd = fpext float %tv to double
  %tacc1 = fadd double %tacc, %tvd
  %tr1 = add nuw nsw i32 %tr, 1
  %trm = icmp slt i32 %tr1, %rows
  br i1 %trm, label %trow, label %tcol.end
tcol.end:
  %taccf = phi double [0.0, %trow.check], [%tacc1, %trow]
  %tsf = fptrunc double %taccf to float
  %tpo = getelementptr inbounds float, float* %out, i32 %tc
  store float %tsf, float* %tpo, align 4
  %tcn = add nuw nsw i32 %tc, 1
  %tcm = icmp slt i32 %tcn, %cols
  br i1 %tcm, label %tcol, label %done
done:
  ret void
}

; sum(x^2) over n floats, accumulated in float64 (four lanes, then the lanes summed in order).
define double @sum_squares(float* noalias %x, i32 %n) #8 {
entry:
  %n4 = and i32 %n, -4
  %anyv = icmp sgt i32 %n4, 0
  br i1 %anyv, label %vloop, label %vdone
vloop:
  %i = phi i32 [0, %entry], [%i4, %vloop]
  %acc = phi <4 x double> [zeroinitializer, %entry], [%acc1, %vloop]
  %p = getelementptr inbounds float, float* %x, i32 %i
  %pv = bitcast float* %p to <4 x float>*
  %v = load <4 x float>, <4 x float>* %pv, align 4
  %vd = fpext <4 x float> %v to <4 x double>
  %sq = fmul <4 x double> %vd, %vd
  %acc1 = fadd <4 x double> %acc, %sq
  %i4 = add nuw nsw i32 %i, 4
  %more = icmp slt i32 %i4, %n4
  br i1 %more, label %vloop, label %vdone
vdone:
  %accf = phi <4 x double> [zeroinitializer, %entry], [%acc1, %vloop]
  %a0 = extractelement <4 x double> %accf, i32 0
  %a1 = extractelement <4 x double> %accf, i32 1
  %a2 = extractelement <4 x double> %accf, i32 2
  %a3 = extractelement <4 x double> %accf, i32 3
  %s01 = fadd double %a0, %a1
  %s012 = fadd double %s01, %a2
  %s = fadd double %s012, %a3
  %anyt = icmp slt i32 %n4, %n
  br i1 %anyt, label %tloop, label %done
tloop:
  %j = phi i32 [%n4, %vdone], [%j1, %tloop]
  %tacc = phi double [%s, %vdone], [%tacc1, %tloop]
  %tp = getelementptr inbounds float, float* %x, i32 %j
  %tv = load float, float* %tp, align 4
  %tvd = fpext float %tv to double
  %tsq = fmul double %tvd, %tvd
  %tacc1 = fadd double %tacc, %tsq
  %j1 = add nuw nsw i32 %j, 1
  %tm = icmp slt i32 %j1, %n
  br i1 %tm, label %tloop, label %done
done:
  %res = phi double [%s, %vdone], [%tacc1, %tloop]
  ret double %res
}

; Attention of one new query per group, as in KV-cached decoding (forward only): for each group g
; (batch row b = g / H): p = softmax(q_g kT_g + bias_b) over the first Tk keys, y_g = p v_g.
; q [G, hd] (already scaled), kT [G, hd, cap], v [G, cap, hd] (cap >= Tk: a cache with room to grow),
; bias [B, Tk] -> p [G, Tk], y [G, hd].
define void @decode_attention(float* noalias %q, float* noalias %kT, float* noalias %v, float* noalias %bias, i32 %G, i32 %H, i32 %hd, i32 %Tk,
                              i32 %cap, float* noalias %p, float* noalias %y) #9 {
entry:
  %go = icmp sgt i32 %G, 0
  %kpos = icmp sgt i32 %Tk, 0
  %dpos = icmp sgt i32 %hd, 0
  %g1 = and i1 %go, %kpos
  %g2 = and i1 %g1, %dpos
  br i1 %g2, label %group, label %done
group:
  %g = phi i32 [0, %entry], [%gn, %group.end]
  %b = sdiv i32 %g, %H
  %qo = mul nsw i32 %g, %hd
  %qg = getelementptr inbounds float, float* %q, i32 %qo
  %ko = mul nsw i32 %qo, %cap
  %kg = getelementptr inbounds float, float* %kT, i32 %ko
  %vg = getelementptr inbounds float, float* %v, i32 %ko
  %bo = mul nsw i32 %b, %Tk
  %bg = getelementptr inbounds float, float* %bias, i32 %bo
  %po = mul nsw i32 %g, %Tk
  %pg = getelementptr inbounds float, float* %p, i32 %po
  %yg = getelementptr inbounds float, float* %y, i32 %qo
  br label %init
init:
  %i = phi i32 [0, %group], [%i1, %init]
  %pbi = getelementptr inbounds float, float* %bg, i32 %i
  %bi = load float, float* %pbi, align 4
  %ppi = getelementptr inbounds float, float* %pg, i32 %i
  store float %bi, float* %ppi, align 4
  %i1 = add nuw nsw i32 %i, 1
  %im = icmp slt i32 %i1, %Tk
  br i1 %im, label %init, label %dot
dot:
  %d = phi i32 [0, %init], [%d1, %dot.end]
  %pqd = getelementptr inbounds float, float* %qg, i32 %d
  %qd = load float, float* %pqd, align 4
  %krow = mul nsw i32 %d, %cap
  %kd = getelementptr inbounds float, float* %kg, i32 %krow
  br label %axpy
axpy:
  %j = phi i32 [0, %dot], [%j1, %axpy]
  %pkj = getelementptr inbounds float, float* %kd, i32 %j
  %kj = load float, float* %pkj, align 4
  %ppj = getelementptr inbounds float, float* %pg, i32 %j
  %pj = load float, float* %ppj, align 4
  %qk = fmul float %qd, %kj
  %pjn = fadd float %pj, %qk
  store float %pjn, float* %ppj, align 4
  %j1 = add nuw nsw i32 %j, 1
  %jm = icmp slt i32 %j1, %Tk
  br i1 %jm, label %axpy, label %dot.end
dot.end:
  %d1 = add nuw nsw i32 %d, 1
  %dm = icmp slt i32 %d1, %hd
  br i1 %dm, label %dot, label %max
max:
  %k = phi i32 [0, %dot.end], [%k1, %max]
  %m = phi float [0xFFF0000000000000, %dot.end], [%m1, %max]
  %ppk = getelementptr inbounds float, float* %pg, i32 %k
  %pk = load float, float* %ppk, align 4
  %gt = fcmp fast ogt float %pk, %m
  %m1 = select fast i1 %gt, float %pk, float %m
  %k1 = add nuw nsw i32 %k, 1
  %km = icmp slt i32 %k1, %Tk
  br i1 %km, label %max, label %exps
exps:
  %e = phi i32 [0, %max], [%e1, %exps]
  %acc = phi float [0.0, %max], [%acc1, %exps]
  %ppe = getelementptr inbounds float, float* %pg, i32 %e
  %pe = load float, float* %ppe, align 4
  %de = fsub float %pe, %m1
  %ex = call float @exp_poly(float %de)
  store float %ex, float* %ppe, align 4
  %acc1 = fadd reassoc float %acc, %ex
  %e1 = add nuw nsw i32 %e, 1
  %em = icmp slt i32 %e1, %Tk
  br i1 %em, label %exps, label %norm.start
norm.start:
  %inv = fdiv float 1.0, %acc1
  br label %norm
norm:
  %n = phi i32 [0, %norm.start], [%n1, %norm]
  %ppn = getelementptr inbounds float, float* %pg, i32 %n
  %pn = load float, float* %ppn, align 4
  %pnn = fmul float %pn, %inv
  store float %pnn, float* %ppn, align 4
  %n1 = add nuw nsw i32 %n, 1
  %nm = icmp slt i32 %n1, %Tk
  br i1 %nm, label %norm, label %yzero
yzero:
  %z = phi i32 [0, %norm], [%z1, %yzero]
  %pyz = getelementptr inbounds float, float* %yg, i32 %z
  store float 0.0, float* %pyz, align 4
  %z1 = add nuw nsw i32 %z, 1
  %zm = icmp slt i32 %z1, %hd
  br i1 %zm, label %yzero, label %pv
pv:
  %t = phi i32 [0, %yzero], [%t1, %pv.end]
  %ppt = getelementptr inbounds float, float* %pg, i32 %t
  %pt = load float, float* %ppt, align 4
  %vrow = mul nsw i32 %t, %hd
  %vt = getelementptr inbounds float, float* %vg, i32 %vrow
  br label %pvd
pvd:
  %c = phi i32 [0, %pv], [%c1, %pvd]
  %pvc = getelementptr inbounds float, float* %vt, i32 %c
  %vc = load float, float* %pvc, align 4
  %pyc = getelementptr inbounds float, float* %yg, i32 %c
  %yc = load float, float* %pyc, align 4
  %pvm = fmul float %pt, %vc
  %ycn = fadd float %yc, %pvm
  store float %ycn, float* %pyc, align 4
  %c1 = add nuw nsw i32 %c, 1
  %cm = icmp slt i32 %c1, %hd
  br i1 %cm, label %pvd, label %pv.end
pv.end:
  %t1 = add nuw nsw i32 %t, 1
  %tm = icmp slt i32 %t1, %Tk
  br i1 %tm, label %pv, label %group.end
group.end:
  %gn = add nuw nsw i32 %g, 1
  %gm = icmp slt i32 %gn, %G
  br i1 %gm, label %group, label %done
done:
  ret void
}

attributes #0 = { "wasm-export-name"="gelu_forward" }
attributes #1 = { "wasm-export-name"="gelu_backward" }
attributes #2 = { "wasm-export-name"="adamw" }
attributes #3 = { "wasm-export-name"="layernorm_forward" }
attributes #4 = { "wasm-export-name"="layernorm_backward" }
attributes #5 = { "wasm-export-name"="row_max_sumexp" "no-nans-fp-math"="true" "no-signed-zeros-fp-math"="true" }
attributes #6 = { "wasm-export-name"="neg_scaled_softmax" }
attributes #7 = { "wasm-export-name"="column_sums" }
attributes #8 = { "wasm-export-name"="sum_squares" }
attributes #9 = { "wasm-export-name"="decode_attention" "no-nans-fp-math"="true" "no-signed-zeros-fp-math"="true" }
