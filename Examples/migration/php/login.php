<?php
// The old site's login page: PHP's own session, which the Swift pages share.
require __DIR__ . '/profile.php';
session_start();
if ($_SERVER['REQUEST_METHOD'] === 'POST' && ($_POST['user'] ?? '') !== '') {
    session_regenerate_id(true);
    $_SESSION['user'] = $_POST['user'];
    $_SESSION['profile'] = new Profile($_POST['user'], time());
    $_SESSION['cart'] = $_SESSION['cart'] ?? [];
}
header('Content-Type: text/plain');
echo 'user: ', $_SESSION['user'] ?? '', "\n";
