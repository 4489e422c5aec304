"""Plausible wrong answers for lesson 03: each must lose all the points of its exercise."""

WRONG = {
    "softmax_temperature": [
        # Softmax over the batch axis instead of the classes.
        '''
def softmax_temperature(logits, T):
    return torch.softmax(logits / T, dim=0)
''',
        # No shift by the row's largest logit: exp overflows to inf, the result is nan.
        '''
def softmax_temperature(logits: torch.Tensor, T: float) -> torch.Tensor:
    """Return softmax(logits / T) over the class axis (the last one); stay finite for large logits."""
    e = torch.exp(logits / T)
    return e / e.sum(dim=-1, keepdim=True)
''',
        # The temperature multiplies the logits.
        '''
def softmax_temperature(logits: torch.Tensor, T: float) -> torch.Tensor:
    """Return softmax(logits / T) over the class axis (the last one); stay finite for large logits."""
    return torch.softmax(logits * T, dim=-1)
''',
        # One shift for the whole batch (a row far below the batch's maximum underflows to 0/0),
        # and the classes taken as axis 1.
        '''
def softmax_temperature(logits: torch.Tensor, T: float) -> torch.Tensor:
    """Return softmax(logits / T) over the class axis (the last one); stay finite for large logits."""
    z = logits / T
    e = torch.exp(z - z.max())
    return e / e.sum(dim=1, keepdim=True)
''',
        # Computed in float32 whatever the logits' precision.
        '''
def softmax_temperature(logits: torch.Tensor, T: float) -> torch.Tensor:
    """Return softmax(logits / T) over the class axis (the last one); stay finite for large logits."""
    return torch.softmax(logits.float() / T, dim=-1)
''',
    ],
    "distillation_loss": [
        # KL in the wrong direction: KL(student || teacher).
        '''
def distillation_loss(student_logits, teacher_logits, y, T, alpha):
    log_p_student = F.log_softmax(student_logits / T, dim=-1)
    log_p_teacher = F.log_softmax(teacher_logits / T, dim=-1)
    kl = (log_p_student.exp() * (log_p_student - log_p_teacher)).sum(dim=-1).mean()
    return alpha * T**2 * kl + (1 - alpha) * F.cross_entropy(student_logits, y)
''',
        # The factor T^2 forgotten.
        '''
def distillation_loss(student_logits, teacher_logits, y, T, alpha):
    soft = F.kl_div(F.log_softmax(student_logits / T, dim=-1),
                    F.softmax(teacher_logits / T, dim=-1), reduction="batchmean")
    return alpha * soft + (1 - alpha) * F.cross_entropy(student_logits, y)
''',
        # kl_div's target given as log-probabilities (log_target not set).
        '''
def distillation_loss(student_logits, teacher_logits, y, T, alpha):
    soft = F.kl_div(F.log_softmax(student_logits / T, dim=-1),
                    F.log_softmax(teacher_logits / T, dim=-1), reduction="batchmean")
    return alpha * T**2 * soft + (1 - alpha) * F.cross_entropy(student_logits, y)
''',
        # reduction="mean" averages over the classes too, not only over the batch.
        '''
def distillation_loss(student_logits, teacher_logits, y, T, alpha):
    soft = F.kl_div(F.log_softmax(student_logits / T, dim=-1),
                    F.softmax(teacher_logits / T, dim=-1), reduction="mean")
    return alpha * T**2 * soft + (1 - alpha) * F.cross_entropy(student_logits, y)
''',
        # The cross-entropy taken at temperature T too.
        '''
def distillation_loss(student_logits, teacher_logits, y, T, alpha):
    soft = F.kl_div(F.log_softmax(student_logits / T, dim=-1),
                    F.softmax(teacher_logits / T, dim=-1), reduction="batchmean")
    return alpha * T**2 * soft + (1 - alpha) * F.cross_entropy(student_logits / T, y)
''',
        # Returns a Python float: no gradient for training.
        '''
def distillation_loss(student_logits, teacher_logits, y, T, alpha):
    soft = F.kl_div(F.log_softmax(student_logits / T, dim=-1),
                    F.softmax(teacher_logits / T, dim=-1), reduction="batchmean")
    return (alpha * T**2 * soft + (1 - alpha) * F.cross_entropy(student_logits, y)).item()
''',
    ],
    "soft_term_gradient": [
        # The gradient of the unscaled KL: the T^2 forgotten.
        '''
def soft_term_gradient(student_logits, teacher_logits, T):
    batch = student_logits.shape[0]
    p_student = softmax_temperature(student_logits, T)
    p_teacher = softmax_temperature(teacher_logits, T)
    return (p_student - p_teacher) / (T * batch)
''',
        # The batch mean's 1/B forgotten.
        '''
def soft_term_gradient(student_logits, teacher_logits, T):
    p_student = softmax_temperature(student_logits, T)
    p_teacher = softmax_temperature(teacher_logits, T)
    return T * (p_student - p_teacher)
''',
        # The sign flipped: the direction that increases the loss is the gradient.
        '''
def soft_term_gradient(student_logits, teacher_logits, T):
    batch = student_logits.shape[0]
    p_student = softmax_temperature(student_logits, T)
    p_teacher = softmax_temperature(teacher_logits, T)
    return T * (p_teacher - p_student) / batch
''',
        # T^2 times the per-image formula's 1/T forgotten: T^2 instead of T.
        '''
def soft_term_gradient(student_logits, teacher_logits, T):
    batch = student_logits.shape[0]
    p_student = softmax_temperature(student_logits, T)
    p_teacher = softmax_temperature(teacher_logits, T)
    return T**2 * (p_student - p_teacher) / batch
''',
    ],
    "distillation_step": [
        # Gradients accumulate across steps: optimizer.zero_grad() forgotten.
        '''
def distillation_step(student, teacher, optimizer, X, y, T, alpha):
    with torch.no_grad():
        teacher_logits = teacher(X)
    loss = distillation_loss(student(X), teacher_logits, y, T, alpha)
    loss.backward()
    optimizer.step()
    return loss.item()
''',
        # The teacher's logits keep their graph: backward fills the teacher's .grad.
        '''
def distillation_step(student, teacher, optimizer, X, y, T, alpha):
    loss = distillation_loss(student(X), teacher(X), y, T, alpha)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''',
        # Returns the loss after the update (computed again).
        '''
def distillation_step(student, teacher, optimizer, X, y, T, alpha):
    with torch.no_grad():
        teacher_logits = teacher(X)
    loss = distillation_loss(student(X), teacher_logits, y, T, alpha)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        return distillation_loss(student(X), teacher_logits, y, T, alpha).item()
''',
        # Returns the loss tensor, not a float.
        '''
def distillation_step(student, teacher, optimizer, X, y, T, alpha):
    with torch.no_grad():
        teacher_logits = teacher(X)
    loss = distillation_loss(student(X), teacher_logits, y, T, alpha)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()
''',
        # zero_grad between backward and step: the step sees no gradient.
        '''
def distillation_step(student, teacher, optimizer, X, y, T, alpha):
    with torch.no_grad():
        teacher_logits = teacher(X)
    loss = distillation_loss(student(X), teacher_logits, y, T, alpha)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()
''',
        # T and alpha passed in the wrong order.
        '''
def distillation_step(student, teacher, optimizer, X, y, T, alpha):
    with torch.no_grad():
        teacher_logits = teacher(X)
    loss = distillation_loss(student(X), teacher_logits, y, alpha, T)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''',
    ],
    "comparison_table": [
        # Population standard deviation (divide by n) instead of the sample one.
        '''
def comparison_table(results):
    return {method: {"mean": float(np.mean(a)), "std": float(np.std(a)),
                     "min": float(np.min(a)), "max": float(np.max(a))}
            for method, a in results.items()}
''',
        # Methods sorted by name instead of kept in the order given.
        '''
def comparison_table(results):
    return {method: {"mean": float(np.mean(results[method])),
                     "std": float(np.std(results[method], ddof=1)),
                     "min": float(np.min(results[method])), "max": float(np.max(results[method]))}
            for method in sorted(results)}
''',
        # Sorts the caller's lists in place to read off the worst and the best seed.
        '''
def comparison_table(results):
    table = {}
    for method, accs in results.items():
        accs.sort()
        table[method] = {"mean": float(np.mean(accs)), "std": float(np.std(accs, ddof=1)),
                         "min": float(accs[0]), "max": float(accs[-1])}
    return table
''',
        # float32 values: neither Python floats nor the exact statistics.
        '''
def comparison_table(results):
    table = {}
    for method, accs in results.items():
        a = np.asarray(accs, dtype=np.float32)
        table[method] = {"mean": a.mean(), "std": a.std(ddof=1), "min": a.min(), "max": a.max()}
    return table
''',
    ],
}
