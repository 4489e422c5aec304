"""Plausible wrong answers for lesson 03: each must lose all the points of its exercise."""

WRONG = {
    # Softmax over the batch axis instead of the classes.
    "softmax_temperature": '''
def softmax_temperature(logits, T):
    return torch.softmax(logits / T, dim=0)
''',
    # KL in the wrong direction: KL(student || teacher).
    "distillation_loss": '''
def distillation_loss(student_logits, teacher_logits, y, T, alpha):
    log_p_student = F.log_softmax(student_logits / T, dim=-1)
    log_p_teacher = F.log_softmax(teacher_logits / T, dim=-1)
    kl = (log_p_student.exp() * (log_p_student - log_p_teacher)).sum(dim=-1).mean()
    return alpha * T**2 * kl + (1 - alpha) * F.cross_entropy(student_logits, y)
''',
    # The gradient of the unscaled KL: the T^2 forgotten.
    "soft_term_gradient": '''
def soft_term_gradient(student_logits, teacher_logits, T):
    batch = student_logits.shape[0]
    p_student = softmax_temperature(student_logits, T)
    p_teacher = softmax_temperature(teacher_logits, T)
    return (p_student - p_teacher) / (T * batch)
''',
    # Gradients accumulate across steps: optimizer.zero_grad() forgotten.
    "distillation_step": '''
def distillation_step(student, teacher, optimizer, X, y, T, alpha):
    with torch.no_grad():
        teacher_logits = teacher(X)
    loss = distillation_loss(student(X), teacher_logits, y, T, alpha)
    loss.backward()
    optimizer.step()
    return loss.item()
''',
    # Population standard deviation (divide by n) instead of the sample one.
    "comparison_table": '''
def comparison_table(results):
    return {method: {"mean": float(np.mean(a)), "std": float(np.std(a)),
                     "min": float(np.min(a)), "max": float(np.max(a))}
            for method, a in results.items()}
''',
}
